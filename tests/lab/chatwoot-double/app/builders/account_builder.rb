# Same keyword arguments and behaviour as Chatwoot's AccountBuilder (used by the onboarding form):
# validate the email, refuse an existing user, then create account + user + administrator link in one
# transaction. Returns [user, account].
class AccountBuilder
  def initialize(email:, account_name: nil, confirmed: nil, user: nil, user_full_name: nil, user_password: nil,
                 super_admin: nil, locale: nil)
    @account_name = account_name
    @email = email
    @confirmed = confirmed
    @user = user
    @user_full_name = user_full_name
    @user_password = user_password
    @super_admin = super_admin
    @locale = locale
  end

  def perform
    if @user.nil?
      validate_email
      validate_user
    end
    ActiveRecord::Base.transaction do
      @account = Account.create!(name: @account_name, locale: @locale || I18n.locale)
      @user = create_and_link_user
    end
    [@user, @account]
  end

  private

  def validate_email
    return if @email.to_s.match?(URI::MailTo::EMAIL_REGEXP)

    raise CustomExceptions::Account::InvalidEmail.new(email: @email)
  end

  def validate_user
    raise CustomExceptions::Account::UserExists.new(email: @email) if User.exists?(email: @email.to_s.downcase.strip)
  end

  def create_and_link_user
    create_user if @user.nil?
    AccountUser.create!(account_id: @account.id, user_id: @user.id, role: AccountUser.roles['administrator'])
    @user
  end

  def create_user
    # The empty string keeps users.name NOT NULL satisfied, as in Chatwoot.
    @user = User.new(email: @email, password: @user_password, password_confirmation: @user_password,
                     name: @user_full_name || '')
    @user.type = 'SuperAdmin' if @super_admin
    @user.confirm if @confirmed
    @user.save!
  end
end
