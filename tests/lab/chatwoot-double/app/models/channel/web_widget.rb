module Channel
  class WebWidget < ApplicationRecord
    self.table_name = 'channel_web_widgets'

    belongs_to :account
    has_one :inbox, as: :channel, dependent: :destroy

    validates :website_url, presence: true
    validates :widget_color, presence: true

    has_secure_token :website_token
    has_secure_token :hmac_token
  end
end
