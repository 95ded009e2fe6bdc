# Chatwoot's Inbox validations as read at v4.10.1: a name (any characters: the old format rule was dropped in
# #11597, names are sanitized where mail needs it), an account, a known timezone, and at most 10,000
# characters of greeting and out-of-office message.
class Inbox < ApplicationRecord
  MESSAGE_MAX_LENGTH = 10_000

  belongs_to :account
  belongs_to :channel, polymorphic: true, dependent: :destroy
  has_many :contact_inboxes, dependent: :destroy
  has_many :conversations, dependent: :destroy
  has_many :messages, dependent: :destroy
  has_many :inbox_members, dependent: :destroy

  validates :name, presence: true
  validates :account_id, presence: true
  validates :timezone, inclusion: { in: ->(_) { TZInfo::Timezone.all_identifiers } }
  validates :out_of_office_message, length: { maximum: MESSAGE_MAX_LENGTH }
  validates :greeting_message, length: { maximum: MESSAGE_MAX_LENGTH }
end
