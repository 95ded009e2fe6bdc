# Chatwoot's AccountBuilder (app/builders/account_builder.rb + Account::SignUpEmailValidationService, read at
# v4.10.1), rewritten for the double. Same keyword arguments; returns [user, account].
#   - e-mail rules, in upstream's order: a valid address (valid_email2's rules, see EmailAddressRules), then
#     not a BLOCKED_EMAIL_DOMAINS domain (installation config, one regexp per line), then not disposable;
#   - an existing user with exactly that e-mail is refused (User.exists?(email:), not case-folded; the
#     model's uniqueness check catches other spellings, as Devise's validatable does upstream);
#   - account, user and administrator membership are created in one transaction; `confirmed: true` confirms
#     the user the Devise way (which saves it), otherwise Devise mails a confirmation after commit;
#   - from v4.14.0 the new account starts its onboarding: custom_attributes['onboarding_step'] =
#     'account_details' (where upstream's dashboard reads it, see Api::V1::AccountsController#update).
class AccountBuilder
  include CustomExceptions::Account

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
      @account = create_account
      @user = create_and_link_user
    end
    [@user, @account]
  end

  private

  def validate_email
    raise InvalidEmail.new({ valid: false, disposable: nil }) unless EmailAddressRules.valid?(@email)
    raise InvalidEmail.new({ domain_blocked: true }) if domain_blocked?
    raise InvalidEmail.new({ valid: true, disposable: true }) if EmailAddressRules.disposable?(@email)

    true
  end

  def domain_blocked?
    domain = @email.to_s.split('@').last&.downcase
    blocked_domains.any? { |blocked| domain.match?(blocked.downcase) }
  end

  def blocked_domains
    domains = GlobalConfigService.load('BLOCKED_EMAIL_DOMAINS', '')
    return [] if domains.blank?

    domains.split("\n").map(&:strip)
  end

  def validate_user
    raise UserExists.new(email: @email) if User.exists?(email: @email)

    true
  end

  def create_account
    attributes = { name: @account_name || '', locale: I18n.locale }
    attributes[:custom_attributes] = { 'onboarding_step' => 'account_details' } if Chatwoot.version_at_least?('4.14.0')
    Account.create!(attributes)
  end

  def create_and_link_user
    raise UserErrors.new(errors: @user.errors) unless @user.present? || create_user

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
