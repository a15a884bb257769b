// jitsuin ra smime-order…: the S/MIME reseller's orders of coupons (seed 004, ra/smime_coupon.h).
// Adapters over ra.smime_order.* of jitsuin_api; they need an operator session from `jitsuin login`.
// The holder's side (apply, re-issue with a coupon) is jitsuind's smime.apply / smime.reissue and
// the page /enroll/smime.html.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/api_call.h"
#include "cli/commands.h"

namespace jitsuin::cli {

namespace {

using nlohmann::json;

void print_order(const json& o) {
  std::cout << "order " << o["id"] << ": " << str(o, "product") << " x" << o["quantity"] << " for "
            << str(o, "ordered_by") << ", coupons mailed to " << str(o, "delivery_email") << ", valid until "
            << str(o, "coupons_expire_at") << "\n";
  for (const auto& c : o["coupons"]) {
    std::cout << "  coupon " << c["id"] << ": " << str(c, "status");
    if (!c["applications"].empty()) std::cout << ", applications " << c["applications"].dump();
    std::cout << "\n";
  }
}

int smime_order(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"ordered-by", "delivery-email", "product", "quantity", "coupon-days", "note"}, {"json"});
  json request = {{"ordered_by", a.required("ordered-by")},
                  {"delivery_email", a.required("delivery-email")},
                  {"quantity", a.whole_number("quantity")}};
  if (auto p = a.get("product")) request["product"] = *p;
  if (auto d = a.opt_whole_number("coupon-days")) request["coupon_days"] = *d;
  if (auto n = a.get("note")) request["note"] = *n;
  Context ctx(g);
  json out = call_api(ctx, "ra.smime_order.create", request);
  if (a.flag("json")) return print_json(out), 0;
  print_order(out["order"]);
  std::cout << "coupon codes (shown once; also mailed to the delivery address):\n";
  for (const auto& code : out["codes"]) std::cout << "  " << code.get<std::string>() << "\n";
  return 0;
}

int smime_order_show(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id"}, {"json"});
  Context ctx(g);
  json out = call_api(ctx, "ra.smime_order.show", {{"id", a.whole_number("id")}});
  if (a.flag("json")) return print_json(out), 0;
  print_order(out);
  return 0;
}

int smime_order_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {"json"});
  Context ctx(g);
  json out = call_api(ctx, "ra.smime_order.list", json::object());
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& o : out) print_order(o);
  if (out.empty()) std::cout << "no S/MIME coupon orders\n";
  return 0;
}

const CommandRegistrar kRegistrar({
    {"ra", "smime-order",
     "ra smime-order --ordered-by NAME --delivery-email ADDR --quantity N [--product secure-mail-1y] "
     "[--coupon-days D] [--note TEXT] [--json]",
     "Records an order of S/MIME certificate coupons (seed 004: the reseller sells coupons; whoever\n"
     "orders need not hold the certificates). Prints the coupon codes once (only their hashes are\n"
     "kept) and mails them to the delivery address. One coupon buys one certificate for one e-mail\n"
     "address; its holder applies at /enroll/smime.html (smime.apply). Products: secure-mail-1y\n"
     "(secure-mail-2y only if the smime profile allows 2 years). Coupons expire after D days\n"
     "(default 180); N is 1..50.",
     smime_order},
    {"ra", "smime-order-show", "ra smime-order-show --id N [--json]",
     "Shows an S/MIME coupon order: each coupon's status (unused, used, expired, locked) and the\n"
     "applications made with it (the first one and its re-issues). Never the codes.",
     smime_order_show},
    {"ra", "smime-order-list", "ra smime-order-list [--json]", "Lists the S/MIME coupon orders, newest first.",
     smime_order_list},
});

}  // namespace

}  // namespace jitsuin::cli
