class AccountUser < ApplicationRecord
  enum :role, { agent: 0, administrator: 1 }
  enum :availability, { online: 0, offline: 1, busy: 2 }

  belongs_to :account
  belongs_to :user
  belongs_to :inviter, class_name: 'User', optional: true

  validates :user_id, uniqueness: { scope: :account_id }
end
