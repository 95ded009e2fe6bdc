# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ruby that ``selfhost.chatwoot.bootstrap`` runs through rails runner.

Ansible ships a module to the managed host together with the module_utils it imports, and nothing else; the
Ruby source therefore travels here, as a string constant. It runs inside the rails_runner wrapper (see
``_rails_runner.WRAPPER``), so it reads its input with ``SelfhostRunner.params`` (built by
``_chatwoot_rules.normalize_bootstrap``) and reports with ``SelfhostRunner.result``.

What it does, in one database transaction (rolled back in check mode, and on any error):

1. super admin: the user with that e-mail when it exists (it must be a SuperAdmin; its name and confirmation
   are ensured, its password only with update_password=always and when it does not already match); otherwise,
   only when no SuperAdmin exists at all, created like the onboarding form does, with
   ``AccountBuilder.new(account_name:, user_full_name:, email:, user_password:, super_admin: true,
   confirmed: true).perform`` for the first account (or the same steps on that account when it exists already).
   Users are Devise ``confirmable``: where this script confirms a user itself it calls ``skip_confirmation!``,
   which only sets ``confirmed_at`` (no mail) and leaves saving, with validations, to the ``save!`` after it.
   It never calls ``confirm``, which in Devise saves the record at once WITHOUT validations (a new user would
   be inserted half-checked) and fails on a user that is already confirmed.
2. accounts by name (the oldest one wins when names repeat): created when missing; the super admin is made an
   administrator of each.
3. web widget inboxes by (account, name): Channel::WebWidget + Inbox created when missing, website_url,
   widget_color, welcome_title and welcome_tagline updated when they differ; their website_token is returned.
4. installation configs through the InstallationConfig model (which clears the GlobalConfig cache). Each
   arrives as ``{"value": <what to write>, "same": [<stored values that mean the same>]}`` (built by
   ``_chatwoot_rules.config_value_equivalents``: booleans are written as the strings the super admin UI
   stores, a stored ``"40"`` is the same as ``40``); a row is written only when its value is none of them.

After the commit, the onboarding flag ``alfred:CHATWOOT_INSTALLATION_ONBOARDING`` is deleted through
``::Redis::Alfred`` (``Redis::Alfred.delete(Redis::Alfred::CHATWOOT_INSTALLATION_ONBOARDING)``, as Chatwoot's
onboarding controller does) when asked and when a super admin exists; in check mode it is only reported.
Change descriptions name records, never values (installation config values and passwords may be secret).
"""

from __future__ import annotations

BOOTSTRAP_RUBY = r"""
params = SelfhostRunner.params
check_mode = SelfhostRunner.check_mode?
changes = []
out = {
  "super_admin" => nil,
  "accounts" => {},
  "inboxes" => [],
  "installation_configs" => [],
  "onboarding_cleared" => false
}
created = {}
canonical = ->(value) { JSON.parse(JSON.generate([value]))[0] }
find_account = ->(name) { Account.where(name: name).order(:id).first }
record_id = ->(record) { check_mode && created[record] ? nil : record.id }
# Devise confirmable: confirmed_at only, no mail; the caller's save! runs the validations. (Never `confirm`:
# it saves at once with validate: false.)
mark_confirmed = ->(user) { user.skip_confirmation! }

ActiveRecord::Base.transaction do
  admin = nil
  spec = params["super_admin"]
  if spec
    email = spec["email"]
    admin = User.where(email: email).order(:id).first
    if admin.nil?
      others = SuperAdmin.order(:id).limit(5).pluck(:email)
      unless others.empty?
        raise "a super admin already exists (#{others.join(', ')}) and none has the e-mail #{email}; bootstrap " \
              "creates only the first super admin: set super_admin.email to an existing super admin's address, " \
              "or add further administrators in /super_admin"
      end
      first_name = params["accounts"].first
      first_account = find_account.call(first_name)
      if first_account.nil?
        admin, first_account = AccountBuilder.new(
          account_name: first_name,
          user_full_name: spec["name"],
          email: email,
          user_password: spec["password"],
          super_admin: true,
          confirmed: true
        ).perform
        created[first_account] = true
        changes << "create super admin #{email} with account #{first_name.inspect}"
      else
        # The account exists already (made earlier without an admin): AccountBuilder's steps, on that account.
        admin = User.new(email: email, password: spec["password"], password_confirmation: spec["password"],
                         name: spec["name"])
        admin.type = "SuperAdmin"
        mark_confirmed.call(admin)
        admin.save!
        AccountUser.create!(account_id: first_account.id, user_id: admin.id,
                            role: AccountUser.roles["administrator"])
        changes << "create super admin #{email} as administrator of the existing account #{first_name.inspect}"
      end
      created[admin] = true
    else
      if admin.type != "SuperAdmin"
        raise "the user #{email} exists but is not a super admin (type #{admin.type.inspect}); make it one in " \
              "/super_admin, or choose another super_admin.email"
      end
      updated = []
      if admin.name != spec["name"]
        admin.name = spec["name"]
        updated << "name"
      end
      unless admin.confirmed?
        mark_confirmed.call(admin)
        updated << "confirmation"
      end
      if spec["update_password"] == "always" && !admin.valid_password?(spec["password"])
        admin.password = spec["password"]
        admin.password_confirmation = spec["password"]
        updated << "password"
      end
      unless updated.empty?
        admin.save!
        changes << "update super admin #{email}: #{updated.join(', ')}"
      end
    end
    out["super_admin"] = { "id" => record_id.call(admin), "email" => admin.email, "created" => created.key?(admin) }
  end

  accounts = {}
  params["accounts"].each do |name|
    account = find_account.call(name)
    if account.nil?
      account = Account.create!(name: name)
      created[account] = true
      changes << "create account #{name.inspect}"
    end
    accounts[name] = account
    out["accounts"][name] = record_id.call(account)
    next if admin.nil?

    link = AccountUser.find_by(account_id: account.id, user_id: admin.id)
    if link.nil?
      AccountUser.create!(account_id: account.id, user_id: admin.id, role: AccountUser.roles["administrator"])
      changes << "make #{admin.email} an administrator of account #{name.inspect}"
    elsif !link.administrator?
      previous = link.role
      link.update!(role: AccountUser.roles["administrator"])
      changes << "make #{admin.email} an administrator of account #{name.inspect} (was #{previous})"
    end
  end

  params["inboxes"].each do |spec_inbox|
    account_name = spec_inbox["account"]
    account = accounts[account_name] || find_account.call(account_name)
    if account.nil?
      raise "inbox #{spec_inbox['name'].inspect}: there is no account #{account_name.inspect}; add it to accounts"
    end
    same_name = Inbox.where(account_id: account.id, name: spec_inbox["name"]).order(:id).to_a
    inbox = same_name.find { |candidate| candidate.channel_type == "Channel::WebWidget" }
    if inbox.nil? && !same_name.empty?
      raise "account #{account_name.inspect} has an inbox named #{spec_inbox['name'].inspect} that is not a website " \
            "inbox (#{same_name.first.channel_type}); rename one of them"
    end
    wanted = spec_inbox.slice("website_url", "widget_color", "welcome_title", "welcome_tagline")
    if inbox.nil?
      channel = Channel::WebWidget.create!(wanted.merge("account_id" => account.id))
      inbox = Inbox.create!(account_id: account.id, name: spec_inbox["name"], channel: channel)
      created[inbox] = true
      changes << "create website inbox #{spec_inbox['name'].inspect} in account #{account_name.inspect}"
    else
      channel = inbox.channel
      differing = wanted.keys.select { |key| channel.public_send(key) != wanted[key] }
      unless differing.empty?
        channel.update!(wanted.slice(*differing))
        changes << "update website inbox #{spec_inbox['name'].inspect} in account #{account_name.inspect}: " \
                   "#{differing.join(', ')}"
      end
    end
    out["inboxes"] << {
      "account" => account_name,
      "name" => inbox.name,
      "id" => record_id.call(inbox),
      "website_token" => (check_mode && created[inbox]) ? nil : channel.website_token,
      "created" => created.key?(inbox)
    }
  end

  params["installation_configs"].each do |name, wanted|
    config = InstallationConfig.find_by(name: name)
    if config.nil?
      InstallationConfig.create!(name: name, value: wanted["value"])
      changes << "create installation config #{name}"
      out["installation_configs"] << name
    elsif !wanted["same"].include?(canonical.call(config.value))
      config.value = wanted["value"]
      config.save!
      changes << "set installation config #{name}"
      out["installation_configs"] << name
    end
  end
end

if params["clear_onboarding"]
  # After the commit: a Redis failure here must not hide that the database work is done.
  begin
    alfred = ::Redis::Alfred
    key = ::Redis::Alfred::CHATWOOT_INSTALLATION_ONBOARDING
    if alfred.get(key).present?
      if SuperAdmin.exists?
        changes << "clear the onboarding flag (alfred:#{key})"
        unless check_mode
          alfred.delete(key)
          out["onboarding_cleared"] = true
        end
      else
        SelfhostRunner.warn("kept the onboarding flag: no super admin exists yet, and without the onboarding " \
                            "page nobody could sign in; set super_admin")
      end
    end
  rescue StandardError => e
    SelfhostRunner.warn("could not check or clear the onboarding flag in Redis (#{e.class}: #{e.message}); " \
                        "the rest is done, run the module again once Redis answers")
  end
end

out["changes"] = changes
SelfhostRunner.result(changed: !changes.empty?, **out.transform_keys(&:to_sym))
"""


def bootstrap_diff(changes: list, check_mode: bool = False) -> dict:
    """The diff Ansible shows with ``--diff``: one line per change the script made (or would make).

    The lines are the script's change descriptions, which name records and fields (``update super admin
    a@example.com: name, password``, ``set installation config ENABLE_ACCOUNT_SIGNUP``), never a value, so
    the diff cannot show a password or a secret installation config.
    """
    if not changes:
        return {"prepared": ""}
    verb = "would change" if check_mode else "changed"
    lines = [f"bootstrap {verb} {len(changes)} thing{'s' if len(changes) != 1 else ''}:"]
    lines.extend(f"  ~ {change}" for change in changes)
    return {"prepared": "\n".join(lines) + "\n"}
