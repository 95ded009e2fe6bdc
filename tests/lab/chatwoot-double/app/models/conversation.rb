# Upstream app/models/conversation.rb (v4.10.1; the parts used here unchanged to v4.16.2): status and priority
# enums, account/inbox/contact required, display_id and uuid set by the database (trigger and default, see
# db/schema.rb) and read back after create, waiting_since = created_at on create, a blocked contact's
# conversation starts resolved.
class Conversation < ApplicationRecord
  enum :status, { open: 0, resolved: 1, pending: 2, snoozed: 3 }
  enum :priority, { low: 0, medium: 1, high: 2, urgent: 3 }

  belongs_to :account
  belongs_to :inbox
  belongs_to :contact
  belongs_to :contact_inbox
  belongs_to :assignee, class_name: 'User', optional: true

  has_many :messages, dependent: :destroy

  validates :account_id, presence: true
  validates :inbox_id, presence: true
  validates :contact_id, presence: true
  validates :uuid, uniqueness: true, allow_nil: true

  before_validation { self.additional_attributes = {} unless additional_attributes.is_a?(Hash) }
  before_create :determine_conversation_status
  before_create { self.waiting_since = created_at }
  after_create_commit :load_attributes_created_by_db_triggers

  private

  def determine_conversation_status
    self.status = :resolved if contact.blocked?
  end

  def load_attributes_created_by_db_triggers
    from_db = self.class.find(id)
    self[:display_id] = from_db[:display_id]
    self[:uuid] = from_db[:uuid]
  end
end
