require 'bcrypt'

# Chatwoot's users: Devise (database_authenticatable, recoverable, validatable, confirmable) with the
# devise_token_auth columns. The double has no Devise (Debian 13 does not package it); it re-implements the
# observable parts:
#   - bcrypt (cost 11) in encrypted_password; uid = email; e-mail downcased before validation;
#   - validatable: e-mail present, /\A[^@\s]+@[^@\s]+\z/, unique; password 6..128 and confirmed, plus
#     Chatwoot's password content rules (an upper- and a lowercase letter, a digit, a special character);
#   - confirmable: a new unconfirmed user gets a confirmation_token and, after commit, a confirmation mail
#     (deliver_later, so Sidekiq sends it); skip_confirmation! marks it confirmed without mail;
#     skip_confirmation_notification! only suppresses the mail; confirm sets confirmed_at and SAVES the
#     record without validation (Devise's confirm does save(validate: false)), returning false with an
#     "already confirmed" error when there is nothing to confirm;
#   - recoverable: send_reset_password_instructions stores a digested token + sent_at (save without
#     validation) and mails the instructions through Sidekiq.
#
# MFA columns and API tokens as upstream (app/models/user.rb and concerns/access_tokenable.rb, v4.10.1 and
# v4.16.2): `serialize :otp_backup_codes, type: Array`, `encrypts :otp_secret, deterministic: true` and
# `encrypts :otp_backup_codes`, declared unconditionally (keys or not); every user gets an access_tokens row
# (its API token for the api_access_token header) after create.
class User < ApplicationRecord
  PASSWORD_LENGTH = 6..128
  EMAIL_REGEXP = /\A[^@\s]+@[^@\s]+\z/
  PASSWORD_RULES = {
    'must contain at least one uppercase letter' => /[A-Z]/,
    'must contain at least one lowercase letter' => /[a-z]/,
    'must contain at least one digit' => /\d/,
    'must contain at least one special character' => /[^A-Za-z0-9]/
  }.freeze

  has_secure_token :pubsub_token
  enum :availability, { online: 0, offline: 1, busy: 2 }

  has_many :account_users, dependent: :destroy
  has_many :accounts, through: :account_users
  has_many :inbox_members, dependent: :destroy
  has_many :inboxes, through: :inbox_members
  has_many :messages, as: :sender, dependent: :nullify
  has_one :access_token, as: :owner, dependent: :destroy

  # Upstream writes `serialize :otp_backup_codes, type: Array`; under its `load_defaults 7.0` the coder is YAML
  # (the 7.1+ defaults the double loads have no default coder, so it is named here).
  serialize :otp_backup_codes, type: Array, coder: YAML
  encrypts :otp_secret, deterministic: true
  encrypts :otp_backup_codes

  after_create :create_access_token

  attr_reader :password, :raw_confirmation_token
  attr_accessor :password_confirmation

  before_validation :normalize_email
  validates :email, presence: true, format: { with: EMAIL_REGEXP, allow_blank: true }, uniqueness: { allow_blank: true }
  validates :password, presence: true, if: -> { new_record? || !password.nil? }
  validates :password, length: { in: PASSWORD_LENGTH }, confirmation: true, allow_nil: true
  validate :password_complexity

  before_create :generate_confirmation_token, if: :confirmation_required?
  after_commit :send_on_create_confirmation_instructions, on: :create, if: :send_confirmation_notification?

  def create_access_token
    AccessToken.create!(owner: self)
  end

  # Upstream: administrators of the current account see all its inboxes, agents their inbox memberships.
  def assigned_inboxes(account)
    administrator_of?(account) ? account.inboxes : inboxes.where(account_id: account.id)
  end

  def administrator_of?(account)
    account_users.find_by(account_id: account.id)&.administrator? || false
  end

  def available_name
    display_name.presence || name
  end

  # The sender block of upstream's message JSON (User#push_event_data), without availability_status (presence
  # lives in Redis upstream) and with empty avatar URLs (no avatars in the double).
  def push_event_data
    { id: id, name: name, available_name: available_name, avatar_url: '', type: 'user', thumbnail: '' }
  end

  def self.from_email(email)
    find_by(email: email&.downcase)
  end

  def password=(value)
    @password = value
    self.encrypted_password = value.present? ? BCrypt::Password.create(value, cost: 11) : ''
  end

  def valid_password?(value)
    encrypted_password.present? && BCrypt::Password.new(encrypted_password) == value
  rescue BCrypt::Errors::InvalidHash
    false
  end

  # --- confirmable ---

  def confirmed?
    !!confirmed_at
  end

  def confirmation_required?
    !confirmed?
  end

  def skip_confirmation!
    self.confirmed_at = Time.now.utc
  end

  def skip_confirmation_notification!
    @skip_confirmation_notification = true
  end

  def confirm(_args = {})
    if confirmed?
      errors.add(:email, 'was already confirmed, please try signing in')
      return false
    end

    self.confirmed_at = Time.now.utc
    save(validate: false)
  end

  def send_confirmation_instructions
    generate_confirmation_token! unless @raw_confirmation_token
    send_devise_notification(:confirmation_instructions, @raw_confirmation_token, {})
  end

  # --- recoverable ---

  def send_reset_password_instructions
    raw = SecureRandom.urlsafe_base64(15).tr('lIO0', 'sxyz')
    self.reset_password_token = OpenSSL::HMAC.hexdigest('SHA256', Rails.application.secret_key_base, raw)
    self.reset_password_sent_at = Time.now.utc
    save(validate: false)
    send_devise_notification(:reset_password_instructions, raw, {})
    raw
  end

  # Chatwoot sends every Devise mail later, through Sidekiq (User#send_devise_notification).
  def send_devise_notification(notification, *)
    Devise::Mailer.send(notification, self, *).deliver_later
  end

  private

  def generate_confirmation_token
    self.confirmation_token = @raw_confirmation_token = SecureRandom.urlsafe_base64(15).tr('lIO0', 'sxyz')
    self.confirmation_sent_at = Time.now.utc
  end

  def generate_confirmation_token!
    generate_confirmation_token && save(validate: false)
  end

  def send_confirmation_notification?
    confirmation_required? && !@skip_confirmation_notification && email.present?
  end

  def send_on_create_confirmation_instructions
    send_confirmation_instructions
  end

  def normalize_email
    self.email = email.to_s.downcase.strip
    # devise_token_auth: uid is the email for the "email" provider.
    self.uid = email if uid.blank?
    self.provider = 'email' if provider.blank?
  end

  def password_complexity
    return if password.blank?

    PASSWORD_RULES.each { |message, rule| errors.add(:password, message) unless password.match?(rule) }
  end
end
