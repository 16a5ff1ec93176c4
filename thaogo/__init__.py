"""The command line, the embedded stack, the demo and the consistency checker: the tools
around the four services (in services/), which import none of this."""
