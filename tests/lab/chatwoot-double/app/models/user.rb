require 'bcrypt'

# Chatwoot's users: Devise (database_authenticatable, confirmable) + devise_token_auth columns.
# This double keeps the observable parts: bcrypt in encrypted_password, confirmed_at, STI `type`,
# and the password policy (6-128 chars, upper, lower, digit, special character).
class User < ApplicationRecord
  PASSWORD_LENGTH = 6..128
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

  attr_reader :password
  attr_accessor :password_confirmation

  before_validation :normalize_email
  validates :email, presence: true, format: { with: URI::MailTo::EMAIL_REGEXP }, uniqueness: { case_sensitive: false }
  validates :password, presence: true, if: -> { new_record? || !password.nil? }
  validates :password, length: { in: PASSWORD_LENGTH }, confirmation: true, allow_nil: true
  validate :password_complexity

  def self.from_email(email)
    find_by(email: email.to_s.downcase.strip)
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

  def confirm
    self.confirmed_at ||= Time.current
  end

  def confirmed?
    confirmed_at.present?
  end

  private

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
