# Upstream app/models/contact_inbox.rb: a contact's session in one inbox, keyed by source_id (unique per inbox).
class ContactInbox < ApplicationRecord
  belongs_to :contact
  belongs_to :inbox
  has_many :conversations, dependent: :destroy

  validates :inbox_id, presence: true
  validates :contact_id, presence: true
  validates :source_id, presence: true
end
