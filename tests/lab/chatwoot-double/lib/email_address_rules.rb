# What valid_email2 (5.2.6, Chatwoot's sign-up e-mail check) accepts, re-expressed for the double:
#   valid?      parses as one plain address (the mail gem's parser) equal to the input; the domain has a dot,
#               does not start with '.' or '-', has no '..', no '-.' and only letters, digits, '-' and '.';
#               the local part does not start or end with '.' and has no '..';
#   disposable? the domain is on the disposable list. valid_email2 ships thousands of domains; the double
#               knows only DISPOSABLE_DOMAINS below (README.md, deliberate differences).
require 'mail'

module EmailAddressRules
  DISPOSABLE_DOMAINS = %w[
    mailinator.com guerrillamail.com 10minutemail.com yopmail.com trashmail.com tempmail.com temp-mail.org
    sharklasers.com getnada.com dispostable.com maildrop.cc throwawaymail.com
  ].freeze

  def self.valid?(email)
    raw = email.to_s
    address = Mail::Address.new(raw)
    return false unless address.address == raw && address.domain && address.local

    domain = address.domain
    local = address.local
    domain.match?(/\A[a-z0-9.\-]+\z/i) && domain.include?('.') && !domain.include?('..') &&
      !domain.start_with?('.', '-') && !domain.include?('-.') &&
      !local.include?('..') && !local.start_with?('.') && !local.end_with?('.')
  rescue Mail::Field::ParseError, ArgumentError
    false
  end

  def self.disposable?(email)
    domain = email.to_s.split('@').last.to_s.downcase
    DISPOSABLE_DOMAINS.any? { |disposable| domain == disposable || domain.end_with?(".#{disposable}") }
  end
end
