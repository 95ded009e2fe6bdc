# STI on users.type, as in Chatwoot.
class SuperAdmin < User
end
