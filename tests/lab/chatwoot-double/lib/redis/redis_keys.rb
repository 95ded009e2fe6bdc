# Names of Chatwoot's app-state keys under the alfred: namespace (the subset the double uses).
module Redis::RedisKeys
  # Set by db:seed on a fresh install; /installation/onboarding exists only while it is set, and completing
  # the onboarding form deletes it.
  CHATWOOT_INSTALLATION_ONBOARDING = 'CHATWOOT_INSTALLATION_ONBOARDING'.freeze
  LATEST_CHATWOOT_VERSION = 'LATEST_CHATWOOT_VERSION'.freeze
end
