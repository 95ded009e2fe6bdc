# Readiness and version check, shaped like Chatwoot's GET /api. Both services are really contacted.
class ApiController < ApplicationController
  def index
    render json: {
      version: Chatwoot.config[:version],
      timestamp: Time.now.utc.to_fs(:db),
      queue_services: redis_status,
      data_services: postgres_status
    }
  end

  private

  # Like upstream (ApiController#index, v4.10.1-v4.16.2): only Redis::CannotConnectError reads as "failing"
  # (redis-rb raises a wrong password at connect as one); other Redis errors are not rescued: /api answers 500.
  def redis_status
    redis = Redis.new(RedisConfig.app.merge(reconnect_attempts: 0))
    redis.ping == 'PONG' ? 'ok' : 'failing'
  rescue Redis::CannotConnectError
    'failing'
  ensure
    redis&.close
  end

  def postgres_status
    ActiveRecord::Base.connection.select_value('SELECT 1') == 1 ? 'ok' : 'failing'
  rescue ActiveRecord::ActiveRecordError, PG::Error
    'failing'
  end
end
