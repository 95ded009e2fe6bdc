class Inbox < ApplicationRecord
  belongs_to :account
  belongs_to :channel, polymorphic: true, dependent: :destroy

  validates :name, presence: true
  validates :account_id, presence: true
  validates :timezone, inclusion: { in: ->(_) { TZInfo::Timezone.all_identifiers } }
end
