"""`thaogo demo` signs its people in as a person opens the link `thaogo up` prints for
them (#21 item 8): the bound link posted with the CSRF value, a session cookie back, the
workspace then knows who it is; a link signed with another key signs nobody in."""

from __future__ import annotations

import pytest

from shared import auth
from tests.reporting.test_api_db import Served

# The served read side of test_api_db and the settings it is served with, reused as
# fixtures (the explicit re-export form).
from tests.reporting.test_api_db import served as served
from tests.reporting.test_api_db import settings as settings
from thaogo import demo

pytestmark = [pytest.mark.db]

KEY = "a test key of thirty-two bytes.."  # the served read side's link key


async def test_the_demo_signs_in_through_the_printed_link(served: Served) -> None:
    async with served.pool.acquire() as conn:
        token_id, _ = await auth.insert_token(
            conn, kind=auth.TokenKind.AGENCY, subject_id="binh-duong.to-cong-tac",
            purpose=auth.Purpose.UP)
    person = await demo.signed_in(served.url, KEY, token_id, served.clock.now())
    try:
        page = await person.get(served.url + "/workspace/")
    finally:
        await person.aclose()
    assert page.status_code == 200 and "/workspace/triage" in page.text, page.text[:500]
    with pytest.raises(demo.DemoFailed):
        await demo.signed_in(served.url, "another key of thirty-two bytes.", token_id,
                             served.clock.now())
