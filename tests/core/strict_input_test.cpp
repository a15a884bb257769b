// Issue 8 (input): every file a person names is read with a size cap, and JSON from outside is
// parsed strictly (a key given twice in one object is refused, never "the last one wins").
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "jitsuin/ca/profile.h"
#include "jitsuin/config/config.h"
#include "jitsuin/core/error.h"
#include "jitsuin/core/json.h"
#include "jitsuin/core/util.h"
#include "support/support.h"

namespace jitsuin::test {
namespace {

using nlohmann::json;

TEST(CappedRead, ADeviceThatNeverEndsStopsAtTheCap) {
  // /dev/zero reports size 0 and never ends: the read stops one byte past the cap.
  auto msg = expect_error([] { read_file("/dev/zero", 64 * 1024, "CSR file"); }, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("CSR file /dev/zero is larger than 64 KiB"), std::string::npos) << msg;
}

TEST(CappedRead, ALargeFileIsRefusedBeforeItIsRead) {
  TempDir dir;
  auto big = dir / "big.json";
  { std::ofstream(big) << "{}"; }
  // A sparse file of 1 TiB: reading it would take very long; its size refuses it at once.
  std::filesystem::resize_file(big, std::uintmax_t{1} << 40);
  auto msg = expect_error([&] { read_file(big, kMaxJsonInputBytes, "JSON file"); }, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("is larger than 1 MiB"), std::string::npos) << msg;
  // The default cap of read_file holds too.
  expect_error([&] { read_file(big); }, ErrorKind::invalid_input);
}

TEST(CappedRead, AFileOfExactlyTheCapIsRead) {
  TempDir dir;
  write_text(dir / "f", std::string(1000, 'x'));
  EXPECT_EQ(read_file(dir / "f", 1000).size(), 1000u);
  expect_error([&] { read_file(dir / "f", 999); }, ErrorKind::invalid_input);
  expect_error([&] { read_file(dir.path(), 1000); }, ErrorKind::io);   // a folder
}

TEST(CappedRead, SecretFilesAreCappedToo) {
  TempDir dir;
  auto secret = dir / "pin";
  write_file_atomic(secret, std::string(kMaxSecretFileBytes + 1, '1'), 0600);
  auto msg = expect_error([&] { read_secret_file(secret); }, ErrorKind::config);
  EXPECT_NE(msg.find("larger than 4 KiB"), std::string::npos) << msg;
  write_file_atomic(secret, std::string(kMaxSecretFileBytes - 1, '1') + "\n", 0600);
  EXPECT_EQ(read_secret_file(secret).size(), kMaxSecretFileBytes - 1);
}

TEST(StrictJson, AKeyGivenTwiceIsRefusedNamingTheKeyAndTheObject) {
  auto msg = expect_error([] { parse_json(R"({"common_name": "Taro", "common_name": "Evil"})", "subject file s.json"); },
                          ErrorKind::invalid_input);
  EXPECT_NE(msg.find("subject file s.json: the key 'common_name' appears twice in the top-level object"),
            std::string::npos) << msg;
  msg = expect_error([] { parse_json(R"({"a": {"b": 1, "c": {}, "b": 2}})", "x"); }, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("the key 'b' appears twice in the object at /a"), std::string::npos) << msg;
  msg = expect_error([] { parse_json(R"({"applicants": [{"n": 1}, {"n": 2, "n": 3}]})", "form", ErrorKind::config); },
                     ErrorKind::config);
  EXPECT_NE(msg.find("the key 'n' appears twice in the object at /applicants/1"), std::string::npos) << msg;
  msg = expect_error([] { parse_json(R"([[1, 2], {"k": [], "k/~": 1, "k/~": 2}])", "x"); }, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("'k/~' appears twice in the object at /1"), std::string::npos) << msg;
  // Escapes decode before the comparison: "\u0061" is "a".
  expect_error([] { parse_json(R"({"a": 1, "\u0061": 2})", "x"); }, ErrorKind::invalid_input);
}

TEST(StrictJson, TheSameKeyInDifferentObjectsIsFineAndTheValueIsWhatParseGives) {
  const std::string text = R"({"a": {"k": 1}, "b": {"k": [ {"k": 2}, {"k": 3} ]}, "k": null, "s": "x"})";
  EXPECT_EQ(parse_json(text, "x"), json::parse(text));
  EXPECT_EQ(parse_json("[]", "x"), json::array());
  EXPECT_EQ(parse_json("7", "x"), 7);
  auto msg = expect_error([] { parse_json("{\"a\": ", "bundle b.json"); }, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("bundle b.json is not valid JSON"), std::string::npos) << msg;
}

// Issue 20 item 13: a number too large for a double is nlohmann's out_of_range, not a parse_error:
// refused as the given kind (the server once answered it 500 with the library's text).
TEST(StrictJson, ANumberOutOfRangeIsRefusedAsTheGivenKind) {
  auto msg = expect_error([] { parse_json(R"({"x": 1e400})", "the request body"); }, ErrorKind::invalid_input);
  EXPECT_EQ(msg, "the request body holds a number out of range: number overflow parsing '1e400'");
  expect_error([] { parse_json("[-1e400]", "x", ErrorKind::config); }, ErrorKind::config);
  // nlohmann's prefix ("[json.exception.parse_error.101] ") is left out; a long token is cut.
  msg = expect_error([] { parse_json("{\"a\": 1" + std::string(5000, '0') + "e999}", "x"); }, ErrorKind::invalid_input);
  EXPECT_EQ(msg.find("[json.exception"), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 300u) << msg;
  EXPECT_EQ(parse_json(R"({"x": 1e300})", "x")["x"], 1e300);
}

TEST(StrictJson, TheConfigAndTheProfilesRefuseDuplicateKeys) {
  TempDir dir;
  std::string config = read_file(config::default_config_path());
  // The first top-level key again, with another value, at the end.
  const json parsed = json::parse(config);
  auto first = parsed.begin();
  std::string twice = config.substr(0, config.rfind('}')) + ", \"" + first.key() + "\": " + first.value().dump() + "}";
  auto msg = expect_error([&] { config::parse_config(twice, dir.path(), dir.path()); }, ErrorKind::config);
  EXPECT_NE(msg.find("the key '" + first.key() + "' appears twice"), std::string::npos) << msg;

  auto profiles = dir / "profiles";
  std::filesystem::create_directories(profiles);
  std::string smime = read_file(std::filesystem::path(JITSUIN_SOURCE_DIR) / "config" / "profiles" / "smime.json");
  write_text(profiles / "smime.json", smime.substr(0, smime.rfind('}')) + ", \"email_in_san\": false}");
  msg = expect_error([&] { ca::load_profiles(profiles); }, ErrorKind::config);
  EXPECT_NE(msg.find("smime.json: the key 'email_in_san' appears twice"), std::string::npos) << msg;
}

}  // namespace
}  // namespace jitsuin::test
