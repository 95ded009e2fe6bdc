require "net/smtp"

# Chatwoot's base mailer: sender from MAILER_SENDER_EMAIL. Like upstream it swallows only Net::SMTPSyntaxError
# (ExceptionList::SMTP_EXCEPTIONS); every other delivery error fails the mail job.
class ApplicationMailer < ActionMailer::Base
  default from: ENV.fetch('MAILER_SENDER_EMAIL', 'Chatwoot <accounts@chatwoot.com>')
  layout false

  rescue_from(Net::SMTPSyntaxError) do |exception|
    Rails.logger.warn 'Failed to send Email'
    Rails.logger.error "Exception: #{exception}"
  end
end
