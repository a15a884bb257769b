// smime.*: the S/MIME reseller path of seed 004 (issue 10, ra/smime_coupon.h). ra.smime_order.*
// is the operator's side (record an order, see its coupons); smime.apply and smime.reissue are the
// coupon holder's, each request carrying its own credential (the coupon code), so every call is a
// login attempt for the rate limits, counted per source address and per coupon number.
#include "jitsuin/api/handler.h"
#include "jitsuin/api/request.h"
#include "jitsuin/core/error.h"
#include "jitsuin/ra/smime_coupon.h"

namespace jitsuin::api {

namespace {

using nlohmann::json;

json render_order(const ra::CouponOrder& o) {
  json coupons = json::array();
  for (const auto& c : o.coupons) {
    json j = {{"id", c.id}, {"status", c.status}, {"failures", c.failures}, {"applications", c.applications}};
    if (c.used_at) j["used_at"] = format_rfc3339(*c.used_at);
    coupons.push_back(std::move(j));
  }
  return {{"id", o.id},
          {"ordered_by", o.ordered_by},
          {"delivery_email", o.delivery_email},
          {"product", o.product},
          {"profile", o.profile},
          {"validity_years", o.validity_years},
          {"quantity", o.quantity},
          {"coupons_expire_at", format_rfc3339(o.coupons_expire_at)},
          {"bundle", o.bundle_id},
          {"note", o.note},
          {"created_by", o.created_by},
          {"created_at", format_rfc3339(o.created_at)},
          {"coupons", coupons}};
}

json order_create(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  ra::CouponOrderInput in;
  in.ordered_by = f.text("ordered_by");
  in.delivery_email = f.text("delivery_email");
  in.product = f.opt_text("product").value_or(in.product);
  in.quantity = static_cast<int>(std::min<std::int64_t>(f.whole("quantity"), 1'000'000));
  in.coupon_days = static_cast<int>(std::min<std::int64_t>(f.opt_whole("coupon_days").value_or(in.coupon_days), 1'000'000));
  in.note = f.opt_text("note").value_or("");
  f.done();
  auto who = authenticate(s, c);
  auto created = ra::create_coupon_order(s.ra(), who, in);
  return {{"order", render_order(created.order)}, {"codes", created.codes}};
}

json order_show(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("id");
  f.done();
  auto who = authenticate(s, c);
  return render_order(ra::get_coupon_order(s.ra(), who, id));
}

json order_list(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto limit = f.opt_whole("limit").value_or(100);
  f.done();
  auto who = authenticate(s, c);
  json out = json::array();
  for (const auto& o : ra::list_coupon_orders(s.ra(), who, static_cast<int>(std::min<std::int64_t>(limit, 10000))))
    out.push_back(render_order(o));
  return out;
}

// smime.apply and smime.reissue: the same form, the coupon counted for the rate limits.
json holder_request(Services& s, const Caller& c, const json& request, bool reissue) {
  Fields f(request);
  ra::CouponApplicationInput in;
  in.coupon = f.text("coupon");
  in.name_romaji = f.text("name_romaji");
  in.name = f.opt_text("name").value_or("");
  in.organization_romaji = f.opt_text("organization_romaji").value_or("");
  in.email = f.text("email");
  f.done();
  auto number = ra::coupon_number(in.coupon);
  limit_login(s, c, "coupon:" + (number ? std::to_string(*number) : std::string("malformed")));
  const std::string actor = "enroll:" + c.source;
  auto r = reissue ? ra::reissue_with_coupon(s.ra(), in, actor) : ra::apply_with_coupon(s.ra(), in, actor);
  json out = {{"application_id", r.application_id},
              {"state", "notice_mailed"},
              {"mailed_to", r.mailed_to},
              {"mail_not_before", format_rfc3339(r.mail_not_before)},
              {"application_pin_expires_at", format_rfc3339(r.pin_expires_at)}};
  if (r.reissue_of) out["reissue_of"] = *r.reissue_of;
  if (r.replaces_serial) out["replaces_serial"] = *r.replaces_serial;
  return out;
}

json apply(Services& s, const Caller& c, const json& request) { return holder_request(s, c, request, false); }
json reissue(Services& s, const Caller& c, const json& request) { return holder_request(s, c, request, true); }

}  // namespace

void add_smime_handlers(std::vector<Handler>& out) {
  out.insert(out.end(), {
                            {"ra.smime_order.create", Access::operator_session, order_create},
                            {"ra.smime_order.show", Access::operator_session, order_show},
                            {"ra.smime_order.list", Access::operator_session, order_list},
                            {"smime.apply", Access::request_credentials, apply},
                            {"smime.reissue", Access::request_credentials, reissue},
                        });
}

}  // namespace jitsuin::api
