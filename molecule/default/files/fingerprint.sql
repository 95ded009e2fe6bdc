-- Every row of the tables an upgrade must keep, as JSON (upgrade.yml before the upgrade, tests/step after it).
-- Whole rows rather than hashes: a release may add columns (v4.16 adds accounts.feature_flags_ext_1), so the
-- verifier compares, row by row, every column that existed before.
SELECT json_build_object(
  'accounts', (SELECT coalesce(json_agg(to_jsonb(a) ORDER BY id), '[]') FROM accounts a),
  'users', (SELECT coalesce(json_agg(to_jsonb(u) ORDER BY id), '[]') FROM users u),
  'inboxes', (SELECT coalesce(json_agg(to_jsonb(i) ORDER BY id), '[]') FROM inboxes i),
  'channel_web_widgets', (SELECT coalesce(json_agg(to_jsonb(w) ORDER BY id), '[]') FROM channel_web_widgets w),
  'installation_configs', (SELECT coalesce(json_agg(to_jsonb(c) ORDER BY id), '[]') FROM installation_configs c)
)
