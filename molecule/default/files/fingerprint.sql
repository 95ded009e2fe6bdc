-- One hash per table over every row the upgrade must keep (side_effect.yml before, the verifier after).
SELECT json_object_agg(t, h) FROM (
  SELECT 'accounts' t, md5(coalesce(string_agg(a::text, '|' ORDER BY id), '')) h FROM accounts a
  UNION ALL SELECT 'users', md5(coalesce(string_agg(u::text, '|' ORDER BY id), '')) FROM users u
  UNION ALL SELECT 'inboxes', md5(coalesce(string_agg(i::text, '|' ORDER BY id), '')) FROM inboxes i
  UNION ALL SELECT 'channel_web_widgets', md5(coalesce(string_agg(w::text, '|' ORDER BY id), ''))
    FROM channel_web_widgets w
) s
