# The first-run page exists only while alfred:CHATWOOT_INSTALLATION_ONBOARDING is set.
class OnboardingController < ApplicationController
  def index
    return redirect_to('/') unless RedisAlfred.get(RedisAlfred::CHATWOOT_INSTALLATION_ONBOARDING).present?

    render html: '<!DOCTYPE html><html><body><form id="onboarding"></form></body></html>'.html_safe
  end
end
