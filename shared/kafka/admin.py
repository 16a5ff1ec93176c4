"""Topic creation: what `thaogo topics` and the test harness run before the services."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity

from shared import topics


async def ensure_topics(
    bootstrap: str, specs: Sequence[topics.TopicSpec], *, security: BaseSecurity | None = None
) -> dict[str, str]:
    """Create missing topics; report each as created, ok, or a partition mismatch."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="thaogo-admin",
                                **parse_security(security))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            await admin.create_topics(
                [NewTopic(s.name, s.partitions, 1) for s in missing], timeout_ms=30_000
            )
        report = {s.name: "created" for s in missing}
        present = [s for s in specs if s.name in existing]
        if present:
            described = await admin.describe_topics([s.name for s in present])
            counts = {d["topic"]: len(d["partitions"]) for d in described}
            for s in present:
                n = counts.get(s.name, 0)
                report[s.name] = (
                    "ok" if n == s.partitions else f"has {n} partitions, want {s.partitions}"
                )
        return report
    finally:
        await admin.close()
