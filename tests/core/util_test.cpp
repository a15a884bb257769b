// The small helpers every module relies on: hex, RFC 3339 times, atomic files, secret files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <functional>

#include "jitsuin/core/error.h"
#include "jitsuin/core/util.h"
#include "support/support.h"
#include "support/vectors.h"

namespace jitsuin::test {
namespace {

Error expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an Error";
  return Error(ErrorKind::internal, "none");
}

std::vector<std::string> dir_entries(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st.st_mode & 07777;
}

TEST(ConfigUtil, HexRoundTrip) {
  Bytes all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<std::uint8_t>(i));
  auto hex = to_hex(all);
  EXPECT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(504), "fcfdfeff");
  EXPECT_EQ(from_hex(hex), all);
  EXPECT_EQ(to_hex(Bytes{}), "");
}

TEST(ConfigUtil, FromHexAcceptsCasePrefixAndSeparators) {
  EXPECT_EQ(from_hex("DEADbeef"), (Bytes{0xde, 0xad, 0xbe, 0xef}));
  EXPECT_EQ(from_hex("0xCAFE"), (Bytes{0xca, 0xfe}));
  EXPECT_EQ(from_hex("0XcaFE"), (Bytes{0xca, 0xfe}));
  EXPECT_EQ(from_hex("de:ad:be:ef"), (Bytes{0xde, 0xad, 0xbe, 0xef}));
  EXPECT_EQ(from_hex("abc"), (Bytes{0x0a, 0xbc}));   // odd length: a leading zero nibble
}

TEST(ConfigUtil, FromHexRefusesNonHex) {
  for (const char* bad : {"", "0x", ":", "zz", "12 34", "0g", "12-34", "+12", "\xEF\xBC\x91"}) {
    auto e = expect_error([&] { from_hex(bad); });
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << bad;
  }
}

TEST(ConfigUtil, Rfc3339Vectors) {
  int valid = 0, invalid = 0;
  for (const auto& v : load_vectors("rfc3339.vec")) {
    SCOPED_TRACE(v.where + " '" + v.get("text") + "'");
    if (v.section == "valid") {
      ++valid;
      UnixTime t = 0;
      ASSERT_NO_THROW(t = parse_rfc3339(v.get("text")));
      EXPECT_EQ(t, std::stoll(v.get("unix")));
    } else {
      ++invalid;
      auto e = expect_error([&] { parse_rfc3339(v.get("text")); });
      EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
      EXPECT_NE(std::string(e.what()).find("RFC 3339"), std::string::npos) << e.what();
    }
  }
  EXPECT_GE(valid, 10);
  EXPECT_GE(invalid, 20);
}

TEST(ConfigUtil, FormatRfc3339RoundTrips) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1795238680), "2026-11-21T05:24:40Z");
  for (UnixTime t : {UnixTime{0}, UnixTime{951782400}, UnixTime{1709208000}, UnixTime{2147483648},
                     UnixTime{253402300799}})
    EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
}

TEST(ConfigUtil, WriteFileAtomicWritesReplacesAndSetsTheMode) {
  TempDir dir;
  auto file = dir / "crl.pem";
  write_file_atomic(file, "first", 0600);
  EXPECT_EQ(read_file(file), "first");
  EXPECT_EQ(mode_of(file), 0600u);
  write_file_atomic(file, std::string(100000, 'x'), 0644);
  EXPECT_EQ(read_file(file), std::string(100000, 'x'));
  EXPECT_EQ(mode_of(file), 0644u);
  // Nothing else is left in the directory: no temporary files.
  EXPECT_EQ(dir_entries(dir.path()), std::vector<std::string>{"crl.pem"});
}

TEST(ConfigUtil, WriteFileAtomicIntoAMissingDirectoryFailsNamingThePath) {
  TempDir dir;
  auto e = expect_error([&] { write_file_atomic(dir / "no-such-dir" / "f", "x"); });
  EXPECT_EQ(e.kind(), ErrorKind::io);
  EXPECT_NE(std::string(e.what()).find("no-such-dir"), std::string::npos) << e.what();
  EXPECT_EQ(dir_entries(dir.path()), std::vector<std::string>{});
}

TEST(ConfigUtil, StagedFileNotCommittedLeavesTheOldFileAndNoTemporary) {
  TempDir dir;
  auto file = dir / "issuing.crl";
  write_file_atomic(file, "old");
  {
    StagedFile staged(file, "new");
    // Written and synced next to the target, not yet in place.
    EXPECT_EQ(dir_entries(dir.path()).size(), 2u);
    EXPECT_EQ(read_file(file), "old");
  }
  EXPECT_EQ(read_file(file), "old");
  EXPECT_EQ(dir_entries(dir.path()), std::vector<std::string>{"issuing.crl"});
}

TEST(ConfigUtil, StagedFileCommitPublishes) {
  TempDir dir;
  auto file = dir / "issuing.crl";
  {
    StagedFile staged(file, "new", 0640);
    EXPECT_FALSE(std::filesystem::exists(file));
    staged.commit();
    EXPECT_EQ(read_file(file), "new");
  }
  EXPECT_EQ(read_file(file), "new");
  EXPECT_EQ(mode_of(file), 0640u);
  EXPECT_EQ(dir_entries(dir.path()), std::vector<std::string>{"issuing.crl"});
}

TEST(ConfigUtil, StagedFileMovedIsOwnedOnce) {
  TempDir dir;
  auto file = dir / "moved";
  {
    StagedFile a(file, "data");
    StagedFile b(std::move(a));
    b.commit();
  }   // a's destructor must not remove anything
  EXPECT_EQ(read_file(file), "data");
  {
    StagedFile a(dir / "dropped", "data");
    StagedFile b(std::move(a));
  }
  EXPECT_EQ(dir_entries(dir.path()), std::vector<std::string>{"moved"});
}

TEST(ConfigUtil, ReadFileMissingNamesThePath) {
  TempDir dir;
  auto e = expect_error([&] { read_file(dir / "absent.json"); });
  EXPECT_EQ(e.kind(), ErrorKind::io);
  EXPECT_NE(std::string(e.what()).find("absent.json"), std::string::npos);
}

TEST(ConfigUtil, ReadSecretFile) {
  TempDir dir;
  auto pin = dir / "ca.pin";
  write_file_atomic(pin, "s3cret pin\n", 0600);
  EXPECT_EQ(read_secret_file(pin), "s3cret pin");
  write_file_atomic(pin, "crlf\r\n", 0400);
  EXPECT_EQ(read_secret_file(pin), "crlf");
  write_file_atomic(pin, "no newline", 0600);
  EXPECT_EQ(read_secret_file(pin), "no newline");
}

TEST(ConfigUtil, ReadSecretFileRefusesGroupOrOtherAccess) {
  TempDir dir;
  auto pin = dir / "ca.pin";
  for (unsigned mode : {0640u, 0604u, 0644u, 0660u, 0602u, 0620u}) {
    write_file_atomic(pin, "1234\n", mode);
    auto e = expect_error([&] { read_secret_file(pin); });
    EXPECT_EQ(e.kind(), ErrorKind::config) << std::oct << mode;
    EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("1234"), std::string::npos) << "the secret leaked: " << e.what();
  }
}

TEST(ConfigUtil, ReadSecretFileRefusesEmptyMissingAndDirectories) {
  TempDir dir;
  write_file_atomic(dir / "empty", "\n", 0600);
  EXPECT_EQ(expect_error([&] { read_secret_file(dir / "empty"); }).kind(), ErrorKind::config);
  EXPECT_EQ(expect_error([&] { read_secret_file(dir / "missing"); }).kind(), ErrorKind::io);
  std::filesystem::create_directory(dir / "d");
  ::chmod((dir / "d").c_str(), 0700);
  EXPECT_EQ(expect_error([&] { read_secret_file(dir / "d"); }).kind(), ErrorKind::config);
}

TEST(ConfigUtil, RandomBytes) {
  auto a = random_bytes(32), b = random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(random_bytes(0).empty());
}

TEST(ConfigUtil, Sha256KnownAnswers) {
  EXPECT_EQ(to_hex(sha256(std::string_view(""))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(sha256(std::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Bytes abc{'a', 'b', 'c'};
  EXPECT_EQ(sha256(abc), sha256(std::string_view("abc")));
}

TEST(ConfigUtil, ErrorKindNames) {
  EXPECT_STREQ(error_kind_name(ErrorKind::invalid_input), "invalid_input");
  EXPECT_STREQ(error_kind_name(ErrorKind::unauthenticated), "unauthenticated");
  EXPECT_STREQ(error_kind_name(ErrorKind::database), "database");
  Error e(ErrorKind::hsm, "msg", 0xa0);
  EXPECT_EQ(e.native_code(), 0xa0);
  EXPECT_STREQ(e.what(), "msg");
}

TEST(Util, Base64RoundTripsAndRefusesGarbage) {
  // RFC 4648 section 10 test vectors.
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(to_base64(std::string_view(plain)), encoded);
    Bytes back = from_base64(encoded);
    EXPECT_EQ(std::string(back.begin(), back.end()), plain);
  }
  Bytes binary{0x00, 0xff, 0x10, 0x80, 0x7f};
  EXPECT_EQ(from_base64(to_base64(binary)), binary);
  for (const char* bad : {"Zg=", "Zm9v!", "Zm 9v", "===="}) EXPECT_THROW(from_base64(bad), Error) << bad;
}

}  // namespace
}  // namespace jitsuin::test
