# GET /widget?website_token=... : Chatwoot's widget page (throttled 5/h per IP by Rack::Attack).
class WidgetsController < ApplicationController
  def index
    widget = Channel::WebWidget.find_by(website_token: params[:website_token].to_s)
    return head(:not_found) if widget.nil? || params[:website_token].blank?

    base_url = ERB::Util.html_escape(ENV.fetch('FRONTEND_URL'))
    render html: <<~HTML.html_safe
      <!DOCTYPE html>
      <html><head><meta name="frontend-url" content="#{base_url}"><title>Chatwoot widget</title></head>
      <body data-website-token="#{ERB::Util.html_escape(widget.website_token)}"
            data-inbox="#{ERB::Util.html_escape(widget.inbox&.name)}"></body></html>
    HTML
  end
end
