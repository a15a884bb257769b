// PKCS#11 URIs (RFC 7512), driven by tests/data/pkcs11_uri.vec.
#include <gtest/gtest.h>

#include "jitsuin/hsm/uri.h"
#include "support/support.h"
#include "support/vectors.h"

namespace jitsuin::test {
namespace {

using hsm::Pkcs11Uri;

bool same(const Pkcs11Uri& a, const Pkcs11Uri& b) {
  return a.token == b.token && a.manufacturer == b.manufacturer && a.serial == b.serial && a.model == b.model &&
         a.slot_id == b.slot_id && a.object == b.object && a.id == b.id && a.type == b.type &&
         a.module_path == b.module_path && a.pin_source == b.pin_source;
}

TEST(Uri, Vectors) {
  auto vectors = load_vectors("pkcs11_uri.vec");
  int valid = 0, invalid = 0;
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.where + " " + v.get("uri"));
    if (v.section == "valid") {
      ++valid;
      Pkcs11Uri u;
      ASSERT_NO_THROW(u = Pkcs11Uri::parse(v.get("uri")));
      EXPECT_EQ(u.token, v.opt("token"));
      EXPECT_EQ(u.manufacturer, v.opt("manufacturer"));
      EXPECT_EQ(u.serial, v.opt("serial"));
      EXPECT_EQ(u.model, v.opt("model"));
      EXPECT_EQ(u.object, v.opt("object"));
      EXPECT_EQ(u.type, v.opt("type"));
      EXPECT_EQ(u.module_path, v.opt("module_path"));
      EXPECT_EQ(u.pin_source, v.opt("pin_source"));
      if (auto id = v.opt("id")) {
        EXPECT_EQ(u.id, from_hex(*id));
      } else {
        EXPECT_FALSE(u.id.has_value());
      }
      if (auto slot = v.opt("slot_id")) {
        EXPECT_EQ(u.slot_id, std::stoul(*slot));
      } else {
        EXPECT_FALSE(u.slot_id.has_value());
      }
      EXPECT_EQ(u.to_string(), v.get("canonical"));
      // The canonical form means the same and is a fixed point.
      auto again = Pkcs11Uri::parse(u.to_string());
      EXPECT_TRUE(same(u, again)) << again.to_string();
      EXPECT_EQ(again.to_string(), u.to_string());
    } else {
      ASSERT_EQ(v.section, "invalid");
      ++invalid;
      try {
        Pkcs11Uri::parse(v.get("uri"));
        ADD_FAILURE() << "accepted";
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
        EXPECT_NE(std::string(e.what()).find(v.get("error")), std::string::npos) << e.what();
      }
    }
  }
  EXPECT_GE(valid, 15);
  EXPECT_GE(invalid, 15);
}

TEST(Uri, RoundTripOfEveryByte) {
  // Every byte value in a label and an id survives to_string and parse.
  std::string label;
  Bytes id;
  for (int c = 1; c < 256; ++c) {
    label.push_back(static_cast<char>(c));
    id.push_back(static_cast<std::uint8_t>(c));
  }
  id.push_back(0);
  Pkcs11Uri u;
  u.token = label;
  u.object = label;
  u.id = id;
  u.module_path = label;
  u.pin_source = "/run/" + label;
  auto text = u.to_string();
  for (char c : text) EXPECT_TRUE(c > 0x20 && c < 0x7f) << "unescaped byte " << int(static_cast<unsigned char>(c));
  auto back = Pkcs11Uri::parse(text);
  EXPECT_TRUE(same(u, back)) << text;
}

TEST(Uri, PinValueErrorDoesNotEchoThePin) {
  try {
    Pkcs11Uri::parse("pkcs11:token=x?pin-value=s3cret-pin");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cret-pin"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace jitsuin::test
