# Named like Devise's mailer (Chatwoot's Devise parent_mailer is ApplicationMailer), so the Sidekiq job that
# sends these mails carries the same arguments as upstream's: ["Devise::Mailer", "<notification>", ...].
module Devise
  class Mailer < ApplicationMailer
    def confirmation_instructions(record, token, _opts = {})
      @record = record
      @token = token
      mail(to: record.email, subject: 'Confirmation Instructions')
    end

    def reset_password_instructions(record, token, _opts = {})
      @record = record
      @token = token
      mail(to: record.email, subject: 'Reset password instructions')
    end
  end
end
