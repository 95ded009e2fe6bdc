# Upstream app/models/contact.rb (v4.10.1), the parts a conversation needs: an account, an e-mail unique per
# account (case-insensitive) and an identifier unique per account.
class Contact < ApplicationRecord
  belongs_to :account
  has_many :contact_inboxes, dependent: :destroy
  has_many :conversations, dependent: :destroy

  validates :account_id, presence: true
  validates :email, allow_blank: true, uniqueness: { scope: [:account_id], case_sensitive: false }
  validates :identifier, allow_blank: true, uniqueness: { scope: [:account_id] }

  def push_event_data
    { additional_attributes: additional_attributes, custom_attributes: custom_attributes, email: email, id: id,
      identifier: identifier, name: name, phone_number: phone_number, thumbnail: '', blocked: blocked,
      type: 'contact' }
  end
end
