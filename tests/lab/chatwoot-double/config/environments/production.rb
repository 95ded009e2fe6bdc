Rails.application.configure do
  config.enable_reloading = false
  config.eager_load = true
  config.consider_all_requests_local = false

  # FORCE_SSL: redirect to https, HSTS, secure cookies. Rack's `ssl?` honours X-Forwarded-Proto, so a TLS
  # proxy must send it, exactly as with real Chatwoot.
  config.force_ssl = ActiveModel::Type::Boolean.new.cast(ENV.fetch('FORCE_SSL', false))

  $stdout.sync = true
  config.logger = ActiveSupport::TaggedLogging.new(ActiveSupport::Logger.new($stdout))
  config.log_level = ENV.fetch('LOG_LEVEL', 'info')
  config.log_tags = [:request_id]
  config.cache_store = :memory_store
  config.i18n.fallbacks = true
  config.active_support.report_deprecations = false
  # Never rewrite db/schema.rb inside the image: it would change what the next prepare loads.
  config.active_record.dump_schema_after_migration = false

  frontend = URI.parse(ENV.fetch('FRONTEND_URL'))
  Rails.application.routes.default_url_options = { host: frontend.host, protocol: frontend.scheme, port: frontend.port }
end
