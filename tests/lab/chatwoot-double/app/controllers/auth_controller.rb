# POST /auth/sign_in with email + password, answering like devise_token_auth (200 with the user, or 401).
class AuthController < ApplicationController
  def sign_in
    user = User.from_email(params[:email])
    unless user&.valid_password?(params[:password].to_s)
      return render json: { success: false, errors: ['Invalid login credentials. Please try again.'] }, status: :unauthorized
    end
    unless user.confirmed?
      return render json: { success: false, errors: ["A confirmation email was sent to your account at '#{user.email}'."] },
                    status: :unauthorized
    end

    render json: { data: { id: user.id, email: user.email, name: user.name, type: user.type,
                           accounts: user.account_users.map { |au| { id: au.account_id, role: au.role } } } }
  end
end
