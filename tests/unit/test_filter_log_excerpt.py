from __future__ import annotations

from ansible_collections.selfhost.chatwoot.plugins.filter.logs import chatwoot_log_excerpt


def test_secrets_are_hidden_in_assignments_and_urls():
    out = chatwoot_log_excerpt(
        {
            "stderr": "SECRET_KEY_BASE=abc123 POSTGRES_PASSWORD=p@ss REDIS_URL=redis://:s3cret@redis:6379/0 "
            "DATABASE_URL=postgres://postgres:hunter2@postgres:5432/chatwoot ACCESS_TOKEN=t0k ok=1"
        }
    )
    for secret in ("abc123", "p@ss", "s3cret", "hunter2", "t0k"):
        assert secret not in out
    assert "SECRET_KEY_BASE=<hidden>" in out
    assert "postgres://postgres:<hidden>@postgres:5432/chatwoot" in out or "DATABASE_URL=<hidden>" in out
    assert "ok=1" in out


def test_the_end_of_the_output_is_kept():
    out = chatwoot_log_excerpt({"stderr": "x" * 5000 + "PG::UndefinedColumn"}, 100)
    assert out.endswith("PG::UndefinedColumn")
    assert len(out) == 103


def test_falls_back_to_stdout_then_msg():
    assert chatwoot_log_excerpt({"stderr": "  ", "stdout": "migrated"}) == "migrated"
    assert chatwoot_log_excerpt({"msg": "non-zero return code"}) == "non-zero return code"
    assert chatwoot_log_excerpt({}) == "(no output)"
    assert chatwoot_log_excerpt(None) == "(no output)"
