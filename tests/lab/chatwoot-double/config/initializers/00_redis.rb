# 00_ so it runs before rack_attack.rb, which needs $velma (initializers load in name order).
# Chatwoot's Redis layout, all in the one database of REDIS_URL:
#   $alfred -> "alfred:" app state (onboarding flag, global config cache)
#   $velma  -> "velma:"  Rack::Attack counters
#   Sidekiq -> no namespace
module RedisConfig
  def self.app
    { url: ENV.fetch('REDIS_URL'), password: ENV['REDIS_PASSWORD'].presence, reconnect_attempts: 2, timeout: 1 }.compact
  end
end

$alfred = ConnectionPool.new(size: 5, timeout: 1) do
  Redis::Namespace.new('alfred', redis: Redis.new(RedisConfig.app))
end
$velma = ConnectionPool.new(size: 5, timeout: 1) do
  Redis::Namespace.new('velma', redis: Redis.new(RedisConfig.app))
end

Sidekiq.configure_server { |config| config.redis = RedisConfig.app.slice(:url, :password) }
Sidekiq.configure_client { |config| config.redis = RedisConfig.app.slice(:url, :password) }
