# Upstream app/models/inbox_member.rb: an agent's access to an inbox (administrators need none).
class InboxMember < ApplicationRecord
  belongs_to :user
  belongs_to :inbox

  validates :inbox_id, presence: true
  validates :user_id, presence: true
  validates :user_id, uniqueness: { scope: :inbox_id }
end
