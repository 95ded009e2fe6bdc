# Upstream app/models/access_token.rb (v4.10.1-v4.16.2): one token per owner (User or AgentBot), the value a
# client sends in the api_access_token header.
class AccessToken < ApplicationRecord
  has_secure_token :token
  belongs_to :owner, polymorphic: true
end
