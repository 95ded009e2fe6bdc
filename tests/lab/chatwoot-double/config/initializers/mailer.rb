# Chatwoot's mail settings (config/initializers/mailer.rb, read at v4.10.1), rewritten for the double:
#   - SMTP with SMTP_ADDRESS (default 'localhost') and SMTP_PORT (default 587);
#   - SMTP_AUTHENTICATION is only passed on when it is non-empty, so an empty value means NO authentication
#     (the relay case; username and password are then not used);
#   - SMTP_ENABLE_STARTTLS_AUTO defaults to true; SMTP_SSL / SMTP_TLS / SMTP_OPENSSL_VERIFY_MODE /
#     SMTP_OPEN_TIMEOUT / SMTP_READ_TIMEOUT only when set;
#   - with SMTP_ADDRESS blank the delivery method becomes :sendmail. The image has no sendmail binary, so
#     such deliveries raise (raise_delivery_errors is on) and the mail job fails in Sidekiq, as upstream.
Rails.application.configure do
  config.action_mailer.default_url_options = { host: ENV['FRONTEND_URL'] } if ENV['FRONTEND_URL'].present?
  config.action_mailer.perform_caching = false
  config.action_mailer.perform_deliveries = true
  config.action_mailer.raise_delivery_errors = true

  smtp = { address: ENV.fetch('SMTP_ADDRESS', 'localhost'), port: ENV.fetch('SMTP_PORT', 587) }
  smtp[:authentication] = ENV.fetch('SMTP_AUTHENTICATION', 'login').to_sym if ENV['SMTP_AUTHENTICATION'].present?
  smtp[:domain] = ENV['SMTP_DOMAIN'] if ENV['SMTP_DOMAIN'].present?
  smtp[:user_name] = ENV.fetch('SMTP_USERNAME', nil)
  smtp[:password] = ENV.fetch('SMTP_PASSWORD', nil)
  smtp[:enable_starttls_auto] = ActiveModel::Type::Boolean.new.cast(ENV.fetch('SMTP_ENABLE_STARTTLS_AUTO', true))
  smtp[:openssl_verify_mode] = ENV['SMTP_OPENSSL_VERIFY_MODE'] if ENV['SMTP_OPENSSL_VERIFY_MODE'].present?
  smtp[:ssl] = ActiveModel::Type::Boolean.new.cast(ENV.fetch('SMTP_SSL', true)) if ENV['SMTP_SSL']
  smtp[:tls] = ActiveModel::Type::Boolean.new.cast(ENV.fetch('SMTP_TLS', true)) if ENV['SMTP_TLS']
  smtp[:open_timeout] = ENV['SMTP_OPEN_TIMEOUT'].to_i if ENV['SMTP_OPEN_TIMEOUT'].present?
  smtp[:read_timeout] = ENV['SMTP_READ_TIMEOUT'].to_i if ENV['SMTP_READ_TIMEOUT'].present?

  config.action_mailer.delivery_method = :smtp
  config.action_mailer.smtp_settings = smtp
  config.action_mailer.delivery_method = :sendmail if ENV['SMTP_ADDRESS'].blank?
end
