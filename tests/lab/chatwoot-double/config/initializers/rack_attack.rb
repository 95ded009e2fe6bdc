# Chatwoot's Rack::Attack set-up (config/initializers/rack_attack.rb, read at v4.10.1; newer additions marked),
# rewritten for the double: every throttle name, limit, period and discriminator, and its cache layout:
# RedisCacheStore over Redis::Namespace('velma') + rack-attack's "rack::attack" prefix gives
#   velma:rack::attack:<epoch-bucket>:<throttle name>:<discriminator>
# Several names contain ':' and '/' (e.g. /api/v1/accounts/:account_id/upload), so a key cannot be split on
# ':' to find its throttle. Throttles key on Rack's Request#ip (Forwarded before X-Forwarded-For, see
# rack_forwarded.rb); the safelist and the block log use Rails' remote_ip.
class Rack::Attack
  # $velma is already a ConnectionPool; pool: false stops Rails from wrapping it again.
  Rack::Attack.cache.store = ActiveSupport::Cache::RedisCacheStore.new(redis: $velma, pool: false)

  class Request < ::Rack::Request
    def remote_ip
      @remote_ip ||= (env['action_dispatch.remote_ip'] || ip).to_s
    end

    def allowed_ip?
      default_allowed_ips = ['127.0.0.1', '::1']
      env_allowed_ips = ENV.fetch('RACK_ATTACK_ALLOWED_IPS', '').split(',').map(&:strip)
      (default_allowed_ips + env_allowed_ips).include?(remote_ip)
    end

    # Rails serves /auth and /auth.json alike, so paths are compared without their extension.
    def path_without_extensions
      path[/^[^.]+/]
    end

    def form_param(name)
      params[name].presence || ActionDispatch::Request.new(env).params[name].presence
    end

    # Dashboard requests carry the devise_token_auth `uid` header, API clients `api_access_token`.
    def api_user_identifier
      get_header('HTTP_UID').presence || (get_header('HTTP_API_ACCESS_TOKEN') || get_header('api_access_token')).presence
    end
  end

  safelist('trusted IPs', &:allowed_ip?)
  # From v4.11.0 (#13386, with the /health route): liveness never touches Redis for throttle tracking.
  safelist('health check') { |req| req.path == '/health' } if Chatwoot.version_at_least?('4.11.0')

  throttle('req/ip', limit: ENV.fetch('RACK_ATTACK_LIMIT', '3000').to_i, period: 1.minute, &:ip)

  # --- authentication ---
  throttle('super_admin_login/ip', limit: 5, period: 5.minutes) do |req|
    req.ip if req.path_without_extensions == '/super_admin/sign_in' && req.post?
  end

  throttle('super_admin_login/email', limit: 5, period: 15.minutes) do |req|
    req.form_param('email').to_s.downcase.gsub(/\s+/, '') if req.path_without_extensions == '/super_admin/sign_in' && req.post?
  end

  throttle('login/ip', limit: 5, period: 5.minutes) do |req|
    req.ip if req.path_without_extensions == '/auth/sign_in' && req.post? && req.params['mfa_token'].blank?
  end

  throttle('login/email', limit: 10, period: 15.minutes) do |req|
    if req.path_without_extensions == '/auth/sign_in' && req.post? && req.params['mfa_token'].blank?
      req.form_param('email').to_s.downcase.gsub(/\s+/, '')
    end
  end

  throttle('reset_password/ip', limit: 5, period: 30.minutes) do |req|
    req.ip if req.path_without_extensions == '/auth/password' && req.post?
  end

  throttle('reset_password/email', limit: 5, period: 1.hour) do |req|
    req.form_param('email').to_s.downcase.gsub(/\s+/, '') if req.path_without_extensions == '/auth/password' && req.post?
  end

  throttle('resend_confirmation/ip', limit: 5, period: 30.minutes) do |req|
    req.ip if req.path_without_extensions == '/api/v1/profile/resend_confirmation' && req.post?
  end

  throttle('mfa_verification/ip', limit: 5, period: 1.minute) do |req|
    if req.path_without_extensions == '/api/v1/profile/mfa'
      req.ip if req.delete?
    elsif req.path_without_extensions.match?(%r{/api/v1/profile/mfa/(verify|backup_codes)})
      req.ip if req.post?
    end
  end

  throttle('mfa_login/ip', limit: 10, period: 1.minute) do |req|
    req.ip if req.path_without_extensions == '/auth/sign_in' && req.post? && req.params['mfa_token'].present?
  end

  throttle('mfa_login/token', limit: 10, period: 1.minute) do |req|
    req.params['mfa_token'].presence if req.path_without_extensions == '/auth/sign_in' && req.post?
  end

  throttle('accounts/ip', limit: 5, period: 30.minutes) do |req|
    req.ip if req.path_without_extensions == '/api/v1/accounts' && req.post?
  end

  # --- widget ---
  if ActiveModel::Type::Boolean.new.cast(ENV.fetch('ENABLE_RACK_ATTACK_WIDGET_API', true))
    throttle('api/v1/widget/conversations', limit: 6, period: 12.hours) do |req|
      req.ip if req.path_without_extensions == '/api/v1/widget/conversations' && req.post?
    end

    throttle('api/v1/widget/contacts', limit: 60, period: 1.hour) do |req|
      req.ip if req.path_without_extensions == '/api/v1/widget/contacts' && (req.patch? || req.put?)
    end

    throttle('widget?website_token={website_token}&cw_conversation={x-auth-token}', limit: 5, period: 1.hour) do |req|
      req.ip if req.path_without_extensions == '/widget' && ActionDispatch::Request.new(req.env).params['cw_conversation'].blank?
    end
  end

  # --- application API, keyed by account (and user) instead of IP ---
  throttle('/api/v1/accounts/:account_id/conversations/:conversation_id/transcript', limit: 30, period: 1.hour) do |req|
    req.path[%r{/api/v1/accounts/(\d+)/conversations/\d+/transcript}, 1]
  end

  throttle('/api/v1/accounts/:account_id/upload', limit: 60, period: 1.hour) do |req|
    req.path[%r{/api/v1/accounts/(\d+)/upload}, 1]
  end

  throttle('/api/v1/accounts/:account_id/contacts/search', limit: ENV.fetch('RATE_LIMIT_CONTACT_SEARCH', '100').to_i,
                                                           period: 1.minute) do |req|
    req.path[%r{/api/v1/accounts/(\d+)/contacts/search}, 1]
  end

  throttle('/api/v2/accounts/:account_id/reports/user', limit: ENV.fetch('RATE_LIMIT_REPORTS_API_USER_LEVEL', '100').to_i,
                                                        period: 1.minute) do |req|
    account_id = req.path[%r{/api/v2/accounts/(\d+)/reports}, 1]
    user = req.api_user_identifier
    "#{user}:#{account_id}" if account_id && user
  end

  throttle('/api/v2/accounts/:account_id/reports', limit: ENV.fetch('RATE_LIMIT_REPORTS_API_ACCOUNT_LEVEL', '1000').to_i,
                                                   period: 1.minute) do |req|
    req.path[%r{/api/v2/accounts/(\d+)/reports}, 1]
  end

  # From v4.11.2 (docs/compatibility.md §2d: the v4.11.2 tag carries it; absent at v4.10.1).
  if Chatwoot.version_at_least?('4.11.2')
    throttle('/api/v1/accounts/:account_id/conversations/meta/user',
             limit: ENV.fetch('RATE_LIMIT_CONVERSATIONS_META', '30').to_i, period: 1.minute) do |req|
      account_id = req.path[%r{/api/v1/accounts/(\d+)/conversations/meta}, 1]
      user = req.api_user_identifier
      "#{user}:#{account_id}" if account_id && req.get? && user
    end
  end

  # From v4.16.0 (docs/compatibility.md §2d): throttle NAMES that also contain a space.
  if Chatwoot.version_at_least?('4.16.0')
    throttle('/api/v1/accounts/:account_id/conversations/:id DELETE',
             limit: ENV.fetch('RATE_LIMIT_CONVERSATION_DELETE', '60').to_i, period: 1.minute) do |req|
      req.path[%r{\A/api/v1/accounts/(\d+)/conversations/\d+\z}, 1] if req.delete?
    end
  end
end

ActiveSupport::Notifications.subscribe('throttle.rack_attack') do |_name, _start, _finish, _request_id, payload|
  req = payload[:request]
  token = (req.get_header('HTTP_API_ACCESS_TOKEN') || req.get_header('api_access_token')).presence
  user = req.get_header('HTTP_UID').presence || (token && "#{token[0..4]}...[REDACTED]") || 'unknown_user'
  account_id = req.path[%r{/accounts/(\d+)}, 1] || 'unknown_account'
  Rails.logger.warn(
    "[Rack::Attack][Blocked] remote_ip: \"#{req.remote_ip}\", path: \"#{req.path}\", user_identifier: \"#{user}\", " \
    "account_id: \"#{account_id}\", method: \"#{req.request_method}\", user_agent: \"#{req.user_agent}\""
  )
end

Rack::Attack.enabled = Rails.env.production? ? ActiveModel::Type::Boolean.new.cast(ENV.fetch('ENABLE_RACK_ATTACK', true)) : false
