# POST /api/v1/accounts: self-service sign-up (Chatwoot's Api::V1::AccountsController#create, read at v4.10.1).
# Before actions in upstream's order: sign-up must be enabled (else 404, as a RoutingError), an account or
# user name must be given (else 403 InvalidParams); hCaptcha is not configured, so it passes. Then
# AccountBuilder creates account + administrator user (unconfirmed: Devise mails the confirmation), and the
# answer carries devise_token_auth headers and the user as JSON. Builder errors answer 403 {message:}; an
# invalid user (e.g. a weak password) is not rescued here and Rails answers 422.
module Api
  module V1
    class AccountsController < ApplicationController
      rescue_from CustomExceptions::Account::InvalidEmail, CustomExceptions::Account::InvalidParams,
                  CustomExceptions::Account::UserExists, CustomExceptions::Account::UserErrors,
                  with: :render_error_response

      before_action :check_signup_enabled
      before_action :ensure_account_name

      def create
        @user, @account = AccountBuilder.new(
          account_name: account_params[:account_name], user_full_name: account_params[:user_full_name],
          email: account_params[:email], user_password: account_params[:password], locale: account_params[:locale],
          user: nil
        ).perform
        send_auth_headers(@user)
        render json: { data: user_json(@user, @account) }
      end

      private

      def check_signup_enabled
        raise ActionController::RoutingError, 'Not Found' unless GlobalConfigService.account_signup_enabled?
      end

      def ensure_account_name
        return if account_params[:account_name].present? || account_params[:user_full_name].present?

        raise CustomExceptions::Account::InvalidParams.new({})
      end

      def account_params
        params.permit(:account_name, :email, :name, :password, :locale, :domain, :support_email, :user_full_name)
      end

      def render_error_response(exception)
        render json: exception.to_hash, status: exception.http_status
      end

      # devise_token_auth's headers; the token is stored (bcrypt) in users.tokens like devise_token_auth does.
      def send_auth_headers(user)
        client = SecureRandom.urlsafe_base64(16)
        token = SecureRandom.urlsafe_base64(16)
        expiry = 2.months.from_now.to_i
        user.update_column(:tokens, (user.tokens || {}).merge(client => { token: BCrypt::Password.create(token), expiry: expiry }))
        response.headers.merge!('access-token' => token, 'token-type' => 'Bearer', 'client' => client,
                                'expiry' => expiry.to_s, 'uid' => user.uid)
      end

      def user_json(user, account)
        membership = user.account_users.find_by(account_id: account.id)
        { id: user.id, provider: user.provider, uid: user.uid, name: user.name, display_name: user.display_name,
          email: user.email, account_id: account.id, created_at: user.created_at, pubsub_token: user.pubsub_token,
          role: membership&.role, inviter_id: membership&.inviter_id, confirmed: user.confirmed?,
          accounts: user.account_users.map do |au|
            { id: au.account_id, name: au.account.name, active_at: au.active_at, role: au.role, locale: au.account.locale }
          end }
      end
    end
  end
end
