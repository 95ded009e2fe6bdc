# POST /auth/password (Chatwoot's DeviseOverrides::PasswordsController#create, read at v4.10.1): looks the user
# up by the e-mail exactly as given, stores a reset token and mails the instructions through Sidekiq
# (deliver_later), answering 200; an unknown address answers 404. The mail itself may still fail later, in
# the Sidekiq job (e.g. no SMTP_ADDRESS and no sendmail in the image).
class PasswordsController < ApplicationController
  def create
    user = User.find_by(email: params[:email])
    return render(json: { message: I18n.t('messages.reset_password_failure') }, status: :not_found) unless user

    user.send_reset_password_instructions
    render json: { message: I18n.t('messages.reset_password_success') }, status: :ok
  end
end
