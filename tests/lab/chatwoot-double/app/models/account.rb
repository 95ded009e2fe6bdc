class Account < ApplicationRecord
  include Featurable

  # Chatwoot stores the locale as an integer index into its language list; en is 0.
  enum :locale, { en: 0, ar: 1, nl: 2, fr: 3, de: 4, el: 5, it: 6, ja: 7, ko: 8, pt: 9, ru: 10, zh: 11, es: 12 },
       prefix: true
  enum :status, { active: 0, suspended: 1 }

  has_many :account_users, dependent: :destroy
  has_many :users, through: :account_users
  has_many :inboxes, dependent: :destroy
  has_many :web_widgets, class_name: '::Channel::WebWidget', dependent: :destroy
  has_many :contacts, dependent: :destroy
  has_many :conversations, dependent: :destroy
  has_many :messages, dependent: :destroy

  validates :name, presence: true
end
