# The first-run page exists only while alfred:CHATWOOT_INSTALLATION_ONBOARDING is set.
class OnboardingController < ApplicationController
  def index
    return redirect_to('/') if Redis::Alfred.get(Redis::Alfred::CHATWOOT_INSTALLATION_ONBOARDING).blank?

    render html: '<!DOCTYPE html><html><body><form id="onboarding"></form></body></html>'.html_safe
  end
end
