# App-state keys under alfred: (Chatwoot's Redis::Alfred).
module RedisAlfred
  CHATWOOT_INSTALLATION_ONBOARDING = 'CHATWOOT_INSTALLATION_ONBOARDING'.freeze

  def self.get(key)
    $alfred.with { |conn| conn.get(key) }
  end

  def self.set(key, value, ex: nil)
    $alfred.with { |conn| ex ? conn.set(key, value, ex: ex) : conn.set(key, value) }
  end

  def self.delete(key)
    $alfred.with { |conn| conn.del(key) }
  end
end
