# Rack::Attack keys its throttles on Rack's Request#ip. Rack 3 reads the standard `Forwarded` header BEFORE
# X-Forwarded-For (forwarded_priority [:forwarded, :x_forwarded]); that is the default both of upstream's
# rack 3.2 and of Debian 13's ruby-rack 3.1.20 (checked in lib/rack/request.rb). Pinned here so a package
# change cannot quietly make the double kinder: a proxy that passes a client's own Forwarded header through
# lets that client choose the address it is throttled as.
Rack::Request.forwarded_priority = %i[forwarded x_forwarded]
