# Chatwoot's production seed: installation configs and the onboarding flag. It creates NO user; the first
# super admin comes from /installation/onboarding (AccountBuilder), which then deletes the flag.
GlobalConfig.clear_cache
ConfigLoader.new.process

Redis::Alfred.set(Redis::Alfred::CHATWOOT_INSTALLATION_ONBOARDING, 'true') if Rails.env.production?
