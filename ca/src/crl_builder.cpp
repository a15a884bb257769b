#include "crl_builder.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace jitsuin::ca::detail {

namespace {

constexpr std::uint8_t kSequence = 0x30, kInteger = 0x02, kOctetString = 0x04, kOid = 0x06,
                       kBitString = 0x03, kUtcTime = 0x17, kGeneralizedTime = 0x18, kContext0 = 0xa0,
                       kContextPrim0 = 0x80;

// id-ce-cRLNumber 2.5.29.20, id-ce-authorityKeyIdentifier 2.5.29.35 (id-ce-cRLReasons 2.5.29.21: CrlBuilder::add)
const std::string kOidCrlNumber("\x55\x1d\x14", 3);
const std::string kOidAki("\x55\x1d\x23", 3);
// id-ce-issuingDistributionPoint 2.5.29.28
const std::string kOidIdp("\x55\x1d\x1c", 3);
constexpr std::uint8_t kBoolean = 0x01, kContextPrim6 = 0x86;

std::string tlv(std::uint8_t tag, std::string_view content) {
  std::string out;
  der_append_tlv(out, tag, content);
  return out;
}

std::string der_integer(std::int64_t v) {
  std::string content;
  for (int i = 7; i >= 0; --i) content.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  std::size_t i = 0;
  while (i + 1 < content.size() && content[i] == 0 && !(content[i + 1] & 0x80)) ++i;
  return tlv(kInteger, content.substr(i));
}

// AlgorithmIdentifier matching the digest_for() choice for this key.
std::string signature_algorithm(EVP_PKEY* key, const EVP_MD** md) {
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
    *md = EVP_sha256();
    // sha256WithRSAEncryption, NULL parameters
    return std::string("\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b\x05\x00", 15);
  }
  if (EVP_PKEY_get_bits(key) > 256) {
    *md = EVP_sha384();
    return std::string("\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x03", 12);  // ecdsa-with-SHA384
  }
  *md = EVP_sha256();
  return std::string("\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02", 12);    // ecdsa-with-SHA256
}

}  // namespace

void der_append_length(std::string& out, std::size_t len) {
  if (len < 0x80) {
    out.push_back(static_cast<char>(len));
    return;
  }
  char buf[8];
  int n = 0;
  for (std::size_t l = len; l; l >>= 8) buf[n++] = static_cast<char>(l & 0xff);
  out.push_back(static_cast<char>(0x80 | n));
  while (n) out.push_back(buf[--n]);
}

void der_append_tlv(std::string& out, std::uint8_t tag, std::string_view content) {
  out.push_back(static_cast<char>(tag));
  der_append_length(out, content.size());
  out.append(content);
}

// ---------------------------------------------------------------- CrlBuffer

CrlBuffer& CrlBuffer::operator=(CrlBuffer&& o) noexcept {
  data_ = std::move(o.data_);
  size_ = o.size_;
  capacity_ = o.capacity_;
  o.size_ = o.capacity_ = 0;
  return *this;
}

char* CrlBuffer::room(std::size_t more) {
  if (size_ + more > capacity_) {
    std::size_t cap = std::max<std::size_t>({size_ + more, capacity_ + capacity_ / 2, 4096});
    char* p = static_cast<char*>(std::realloc(data_.get(), cap));
    if (!p) throw std::bad_alloc();
    (void)data_.release();
    data_.reset(p);
    capacity_ = cap;
  }
  return data_.get() + size_;
}

void CrlBuffer::append(std::string_view s) {
  if (s.empty()) return;
  std::memcpy(room(s.size()), s.data(), s.size());
  size_ += s.size();
}

void CrlBuffer::resize(std::size_t n) {
  if (n > size_) room(n - size_);
  size_ = n;
}

void CrlBuffer::release() {
  data_.reset();
  size_ = capacity_ = 0;
}

// ---------------------------------------------------------------- the encoder

namespace {

// UTCTime or GeneralizedTime of t (RFC 5280 4.1.2.5), TLV, into out (room for 17 bytes); returns
// its length. Days to the civil date by H. Hinnant's algorithm: no gmtime_r or snprintf per entry.
std::size_t encode_time(char* out, UnixTime t) {
  std::int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  std::int64_t secs = t - days * 86400;
  std::int64_t z = days + 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  std::int64_t doe = z - era * 146097;
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  std::int64_t mp = (5 * doy + 2) / 153;
  int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  std::int64_t year = yoe + era * 400 + (month <= 2);
  auto two = [](char* p, int v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  std::size_t n = 0;
  if (year < 2050) {
    out[n++] = static_cast<char>(kUtcTime);
    out[n++] = 13;
    two(out + n, static_cast<int>(year % 100)), n += 2;
  } else {
    out[n++] = static_cast<char>(kGeneralizedTime);
    out[n++] = 15;
    two(out + n, static_cast<int>(year / 100)), n += 2;
    two(out + n, static_cast<int>(year % 100)), n += 2;
  }
  two(out + n, month), n += 2;
  two(out + n, day), n += 2;
  two(out + n, static_cast<int>(secs / 3600)), n += 2;
  two(out + n, static_cast<int>(secs / 60 % 60)), n += 2;
  two(out + n, static_cast<int>(secs % 60)), n += 2;
  out[n++] = 'Z';
  return n;
}

std::size_t length_size(std::size_t len) {
  std::size_t n = 1;
  if (len >= 0x80)
    for (std::size_t l = len; l; l >>= 8) ++n;
  return n;
}

// Writes a DER length at p; returns its size.
std::size_t put_length(char* p, std::size_t len) {
  if (len < 0x80) {
    p[0] = static_cast<char>(len);
    return 1;
  }
  std::size_t n = length_size(len) - 1;
  p[0] = static_cast<char>(0x80 | n);
  for (std::size_t i = 0; i < n; ++i) p[n - i] = static_cast<char>((len >> (8 * i)) & 0xff);
  return n + 1;
}

// The most a DER header (tag and length) of the whole CRL, the TBSCertList or the entry list takes.
constexpr std::size_t kMaxHeader = 10;

}  // namespace

void der_append_time(std::string& out, UnixTime t) {
  char buf[20];
  out.append(buf, encode_time(buf, t));
}

CrlBuilder::CrlBuilder(const CrlInput& in) : in_(in) {
  const EVP_MD* md = nullptr;
  head_ += der_integer(1);   // v2
  head_ += signature_algorithm(in_.key, &md);
  int len = i2d_X509_NAME(X509_get_subject_name(in_.issuer), nullptr);
  if (len <= 0) ossl::throw_openssl("cannot encode the CRL issuer");
  std::string issuer(static_cast<std::size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(issuer.data());
  i2d_X509_NAME(X509_get_subject_name(in_.issuer), &p);
  head_ += issuer;
  der_append_time(head_, in_.this_update);
  der_append_time(head_, in_.next_update);
  // The whole CRL's header, the TBSCertList's, the head and the entry list's header go in front.
  gap_ = 3 * kMaxHeader + head_.size();
  buf_.resize(gap_);
}

void CrlBuilder::add(std::span<const std::uint8_t> serial, UnixTime revocation_date, int reason) {
  const bool pad = !serial.empty() && (serial[0] & 0x80);
  const std::size_t serial_len = serial.size() + (pad ? 1 : 0);
  if (revocation_date != last_time_) {
    last_time_len_ = encode_time(last_time_der_, revocation_date);
    last_time_ = revocation_date;
  }
  // Extensions ::= SEQUENCE { Extension { id-ce-cRLReasons, OCTET STRING { ENUMERATED reason } } }
  static constexpr char kReasonExt[] = {0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01};
  const std::size_t ext_len = reason != 0 ? sizeof kReasonExt + 1 : 0;
  const std::size_t content = 1 + length_size(serial_len) + serial_len + last_time_len_ + ext_len;
  char* p = buf_.room(1 + length_size(content) + content);
  char* start = p;
  *p++ = static_cast<char>(kSequence);
  p += put_length(p, content);
  *p++ = static_cast<char>(kInteger);
  p += put_length(p, serial_len);
  if (pad) *p++ = 0;
  if (!serial.empty()) std::memcpy(p, serial.data(), serial.size()), p += serial.size();
  std::memcpy(p, last_time_der_, last_time_len_), p += last_time_len_;
  if (reason != 0) {
    std::memcpy(p, kReasonExt, sizeof kReasonExt), p += sizeof kReasonExt;
    *p++ = static_cast<char>(reason);
  }
  buf_.commit(static_cast<std::size_t>(p - start));
  ++entries_;
}

CrlFiles CrlBuilder::finish() {
  const EVP_MD* md = nullptr;
  std::string sig_alg = signature_algorithm(in_.key, &md);
  std::string exts;
  {
    std::string aki_ext;
    der_append_tlv(aki_ext, kOid, kOidAki);
    std::string keyid = tlv(kContextPrim0, std::string_view(reinterpret_cast<const char*>(in_.authority_key_id.data()),
                                                            in_.authority_key_id.size()));
    der_append_tlv(aki_ext, kOctetString, tlv(kSequence, keyid));
    std::string num_ext;
    der_append_tlv(num_ext, kOid, kOidCrlNumber);
    der_append_tlv(num_ext, kOctetString, der_integer(in_.crl_number));
    std::string all = tlv(kSequence, aki_ext) + tlv(kSequence, num_ext);
    if (!in_.distribution_point.empty()) {
      // IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0] { fullName [0] { URI [6] } } }
      std::string uri = tlv(kContextPrim6, in_.distribution_point);
      std::string idp = tlv(kSequence, tlv(kContext0, tlv(kContext0, uri)));
      std::string idp_ext;
      der_append_tlv(idp_ext, kOid, kOidIdp);
      der_append_tlv(idp_ext, kBoolean, std::string(1, '\xff'));   // critical (RFC 5280 5.2.5)
      der_append_tlv(idp_ext, kOctetString, idp);
      all += tlv(kSequence, idp_ext);
    }
    exts = tlv(kSequence, all);
  }
  std::string tail = tlv(kContext0, exts);
  const std::size_t entries_size = buf_.size() - gap_;
  // The headers, written backwards into the gap in front of the entries.
  std::string revoked_header;
  if (entries_ > 0) {
    revoked_header.push_back(static_cast<char>(kSequence));
    der_append_length(revoked_header, entries_size);
  }
  std::size_t tbs_content = head_.size() + revoked_header.size() + entries_size + tail.size();
  std::string tbs_header(1, static_cast<char>(kSequence));
  der_append_length(tbs_header, tbs_content);
  buf_.append(tail);
  std::string prefix = tbs_header + head_ + revoked_header;
  std::size_t tbs_start = gap_ - prefix.size();
  std::memcpy(buf_.data() + tbs_start, prefix.data(), prefix.size());
  std::string_view tbs(buf_.data() + tbs_start, tbs_header.size() + tbs_content);

  ossl::MdCtx ctx = ossl::check<ossl::MdCtx>(EVP_MD_CTX_new(), "EVP_MD_CTX_new");
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, in_.key) != 1) ossl::throw_openssl("cannot start CRL signature");
  if (EVP_DigestSignUpdate(ctx.get(), tbs.data(), tbs.size()) != 1) ossl::throw_openssl("cannot hash the CRL");
  // The token is held for the signature only, not while the entries are encoded and hashed.
  std::unique_ptr<hsm::KeyHold> hold;
  if (in_.hold) hold = in_.hold();
  std::size_t sig_len = 0;
  if (EVP_DigestSignFinal(ctx.get(), nullptr, &sig_len) != 1) ossl::throw_openssl("cannot size the CRL signature");
  std::string sig(sig_len, '\0');
  if (EVP_DigestSignFinal(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len) != 1)
    ossl::throw_openssl("the CA key on the token could not sign the CRL", ErrorKind::hsm);
  hold.reset();
  sig.resize(sig_len);
  std::string bitstring = tlv(kBitString, std::string(1, '\0') + sig);
  buf_.append(sig_alg);
  buf_.append(bitstring);

  std::size_t outer = tbs.size() + sig_alg.size() + bitstring.size();
  std::string outer_header(1, static_cast<char>(kSequence));
  der_append_length(outer_header, outer);
  std::size_t start = tbs_start - outer_header.size();
  std::memcpy(buf_.data() + start, outer_header.data(), outer_header.size());
  // Close the gap: the CRL starts the buffer.
  std::size_t total = outer_header.size() + outer;
  std::memmove(buf_.data(), buf_.data() + start, total);
  buf_.resize(total);

  CrlFiles files;
  files.sha256 = sha256(buf_.view());
  files.der = std::move(buf_);
  return files;
}

void der_to_pem(CrlBuffer& buf, const char* label) {
  static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string begin = std::string("-----BEGIN ") + label + "-----\n";
  const std::string end = std::string("-----END ") + label + "-----\n";
  const std::size_t n = buf.size();
  const std::size_t quads = (n + 2) / 3;
  const std::size_t lines = (quads + 15) / 16;   // 64 characters a line
  const std::size_t body = quads * 4 + lines;
  buf.resize(begin.size() + body + end.size());
  auto* d = reinterpret_cast<unsigned char*>(buf.data());
  // Backwards: quad q goes to begin + 4q + q/16 >= 3q + 3 > where its input is, so no input is
  // overwritten before it is read.
  std::memcpy(d + begin.size() + body, end.data(), end.size());
  for (std::size_t q = quads; q-- > 0;) {
    std::size_t i = 3 * q;
    std::uint32_t v = static_cast<std::uint32_t>(d[i]) << 16;
    if (i + 1 < n) v |= static_cast<std::uint32_t>(d[i + 1]) << 8;
    if (i + 2 < n) v |= d[i + 2];
    unsigned char* o = d + begin.size() + 4 * q + q / 16;
    if (q % 16 == 15 || q + 1 == quads) o[4] = '\n';
    o[0] = b64[(v >> 18) & 63];
    o[1] = b64[(v >> 12) & 63];
    o[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
    o[3] = i + 2 < n ? b64[v & 63] : '=';
  }
  std::memcpy(d, begin.data(), begin.size());
}

}  // namespace jitsuin::ca::detail
