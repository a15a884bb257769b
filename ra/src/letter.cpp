// RA-5 approval notice (承認通知書) as an A4 PDF: cairo draws, pango lays out Japanese text with
// the IPAex fonts. Plain text only (no pango markup), so applicant data needs no escaping.
#include "jitsuin/ra/letter.h"

#include <algorithm>
#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#include <ctime>
#include <memory>

#include "jitsuin/core/error.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/pin.h"

namespace jitsuin::ra {

namespace {

// A4 in PostScript points (1/72 inch): 210 mm x 297 mm.
constexpr double kPageWidth = 595.2756;
constexpr double kPageHeight = 841.8898;
constexpr double kMargin = 56.7;   // 20 mm
constexpr double kTextWidth = kPageWidth - 2 * kMargin;

struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct CairoDeleter {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};
struct GObjectDeleter {
  void operator()(void* o) const { g_object_unref(o); }
};
struct FontDeleter {
  void operator()(PangoFontDescription* f) const { pango_font_description_free(f); }
};
struct AttrListDeleter {
  void operator()(PangoAttrList* a) const { pango_attr_list_unref(a); }
};

cairo_status_t append_to_bytes(void* closure, const unsigned char* data, unsigned int length) {
  auto* out = static_cast<Bytes*>(closure);
  out->insert(out->end(), data, data + length);
  return CAIRO_STATUS_SUCCESS;
}

enum class Align { left, center, right };

/// Draws text in a box of the given width starting at (x, y); returns the height used.
double draw_text(cairo_t* cr, const std::string& text, const char* font, double x, double y, double width,
                 Align align = Align::left, double letter_spacing = 0) {
  std::unique_ptr<PangoLayout, GObjectDeleter> layout(pango_cairo_create_layout(cr));
  std::unique_ptr<PangoFontDescription, FontDeleter> desc(pango_font_description_from_string(font));
  pango_layout_set_font_description(layout.get(), desc.get());
  pango_layout_set_width(layout.get(), static_cast<int>(width * PANGO_SCALE));
  pango_layout_set_wrap(layout.get(), PANGO_WRAP_WORD_CHAR);
  pango_layout_set_alignment(layout.get(), align == Align::left     ? PANGO_ALIGN_LEFT
                                           : align == Align::center ? PANGO_ALIGN_CENTER
                                                                    : PANGO_ALIGN_RIGHT);
  if (letter_spacing > 0) {
    std::unique_ptr<PangoAttrList, AttrListDeleter> attrs(pango_attr_list_new());
    pango_attr_list_insert(attrs.get(), pango_attr_letter_spacing_new(static_cast<int>(letter_spacing * PANGO_SCALE)));
    pango_layout_set_attributes(layout.get(), attrs.get());
  }
  pango_layout_set_text(layout.get(), text.c_str(), static_cast<int>(text.size()));
  cairo_move_to(cr, x, y);
  pango_cairo_show_layout(cr, layout.get());
  int w = 0, h = 0;
  pango_layout_get_size(layout.get(), &w, &h);
  return static_cast<double>(h) / PANGO_SCALE;
}

// Draws one line that never wraps, centred in width, at the largest size up to max_size that fits:
// the PIN must stay on one line whatever its length.
void draw_line_fitted(cairo_t* cr, const std::string& text, const std::string& family, double max_size, double x,
                      double y, double width, double letter_spacing) {
  for (double size = max_size;; size -= 1) {
    std::unique_ptr<PangoLayout, GObjectDeleter> layout(pango_cairo_create_layout(cr));
    std::string font = family + " " + std::to_string(static_cast<int>(size));
    std::unique_ptr<PangoFontDescription, FontDeleter> desc(pango_font_description_from_string(font.c_str()));
    pango_layout_set_font_description(layout.get(), desc.get());
    std::unique_ptr<PangoAttrList, AttrListDeleter> attrs(pango_attr_list_new());
    pango_attr_list_insert(attrs.get(), pango_attr_letter_spacing_new(static_cast<int>(letter_spacing * PANGO_SCALE)));
    pango_layout_set_attributes(layout.get(), attrs.get());
    pango_layout_set_text(layout.get(), text.c_str(), static_cast<int>(text.size()));
    PangoRectangle logical;
    pango_layout_get_extents(layout.get(), nullptr, &logical);
    double w = static_cast<double>(logical.width) / PANGO_SCALE;
    if (w <= width || size <= 12) {
      cairo_move_to(cr, x + std::max(0.0, (width - w) / 2), y + (max_size - size) / 2);
      pango_cairo_show_layout(cr, layout.get());
      return;
    }
  }
}

std::tm japan_tm(UnixTime t) {
  std::time_t jst = static_cast<std::time_t>(t + 9 * 3600);   // Japan: UTC+9, no DST
  std::tm tm{};
  gmtime_r(&jst, &tm);
  return tm;
}

std::string two(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

const char* const kMonthNames[] = {"January", "February", "March",     "April",   "May",      "June",
                                   "July",    "August",   "September", "October", "November", "December"};

std::string date_text(UnixTime t, bool ja) {
  std::tm tm = japan_tm(t);
  if (ja)
    return std::to_string(tm.tm_year + 1900) + "年" + std::to_string(tm.tm_mon + 1) + "月" +
           std::to_string(tm.tm_mday) + "日";
  return std::to_string(tm.tm_mday) + " " + kMonthNames[tm.tm_mon] + " " + std::to_string(tm.tm_year + 1900);
}

std::string date_time_text(UnixTime t, bool ja) {
  std::tm tm = japan_tm(t);
  std::string hm = two(tm.tm_hour) + ":" + two(tm.tm_min);
  return ja ? date_text(t, true) + " " + hm + "（日本時間）" : date_text(t, false) + ", " + hm + " Japan time";
}

/// All wording of one language.
struct Wording {
  const char* title;
  const char* honorific;      // after the name
  const char* issued;         // "発行日"
  const char* number;         // "申請番号"
  const char* intro;
  const char* pin_label;
  const char* pin_expiry;
  const char* pin_note;
  const char* steps_heading;
  std::vector<std::string> steps;   // step 2 gets the URL appended
  const char* notes_heading;
  std::vector<std::string> notes;
  const char* help_label;
};

Wording japanese() {
  return {"電子証明書発行申請承認通知書",
          " 様",
          "発行日",
          "申請番号",
          "あなたの電子証明書発行申請を承認しました。下記の申請PINを使って、電子証明書をeTokenに"
          "取得してください。この通知書は本人限定受取郵便でお送りしています。",
          "申請PIN",
          "申請PINの有効期限",
          "空白は読みやすくするためのもので、入力は不要です。",
          "電子証明書の取得手順",
          {"eToken（電子証明書格納媒体）をパソコンのUSBポートに挿し、設定マニュアルに従ってパソコンの環境を"
           "設定してください。eTokenの初期化は、WEB申請の直前に行ってください。",
           "電子証明書の取得ページを開いてください。",
           "申請番号と、上記の申請PINを入力してください。",
           "電子署名用の鍵がeTokenの中で生成されます。鍵がeTokenの外に出ることはありません。",
           "申請書に記載したメールアドレスに「ダウンロードPIN」のメールが届きます。大変重要なメールです"
           "ので、必ず印刷して控えてください。",
           "取得ページでダウンロードPINを入力してください。",
           "電子証明書がeTokenに書き込まれます。以上で完了です。"},
          "ご注意",
          {"この通知書は大切に保管し、申請PINを他人に知らせないでください。当局から電話やメールで申請PINを"
           "お尋ねすることはありません。",
           "申請PINは、有効期限を過ぎるか入力を一定回数誤ると使えなくなります。その場合は再発行をご依頼"
           "ください。",
           "電子証明書を格納したeTokenは社印と同等のものです。大切に保管してください。"},
          "お問い合わせ先"};
}

Wording english() {
  return {"Approval Notice: Certificate Application",
          "",
          "Date",
          "Application number",
          "Your certificate application has been approved. Use the application PIN below to obtain your "
          "certificate onto your eToken. This notice is sent to you by restricted delivery.",
          "Application PIN",
          "Application PIN valid until",
          "The spaces are only there to help reading: do not type them.",
          "How to obtain your certificate",
          {"Insert your eToken (the certificate token) into a USB port of your computer and set up the computer "
           "as the setup manual describes. Initialise the eToken only right before the online request.",
           "Open the certificate enrollment page.",
           "Enter your application number and the application PIN printed above.",
           "Your signing key is generated inside the eToken. The key never leaves the token.",
           "A mail with your download PIN arrives at the e-mail address given in your application. It is "
           "important: print it and keep the copy.",
           "Enter the download PIN on the enrollment page.",
           "Your certificate is written to the eToken. That is all."},
          "Please note",
          {"Keep this notice safe and do not tell anyone the application PIN. We never ask for it by telephone "
           "or e-mail.",
           "The application PIN stops working after its expiry date or after too many wrong entries. Ask us to "
           "re-issue it in that case.",
           "An eToken holding your certificate is worth as much as the company seal: keep it safe."},
          "Help desk"};
}

void draw(cairo_t* cr, const ApprovalLetter& d, bool ja) {
  const Wording w = ja ? japanese() : english();
  const char* body_font = "IPAexMincho 10.5";
  const char* sans = "IPAexGothic 10.5";
  const char* sans_small = "IPAexGothic 9";
  cairo_set_source_rgb(cr, 0, 0, 0);
  double y = kMargin;

  // Date and application number, top right.
  std::string stamp = std::string(w.issued) + (ja ? "：" : ": ") + date_text(d.issued_at, ja) + "\n" + w.number +
                      (ja ? "：" : ": ") + d.application_number;
  draw_text(cr, stamp, sans, kMargin, y, kTextWidth, Align::right);

  // Addressee block, top left (the window of a long envelope).
  std::string address;
  if (!d.postal_code.empty()) address += (ja ? "〒" : "") + d.postal_code + "\n";
  for (const auto& line : d.address_lines) address += line + "\n";
  y += draw_text(cr, address, body_font, kMargin, y, kTextWidth * 0.6) + 6;
  y += draw_text(cr, d.applicant_name + w.honorific, ja ? "IPAexMincho 16" : "IPAexMincho 15", kMargin, y,
                 kTextWidth * 0.7);
  y += 30;

  // Title.
  y += draw_text(cr, w.title, ja ? "IPAexGothic Bold 18" : "IPAexGothic Bold 16", kMargin, y, kTextWidth,
                 Align::center);
  y += 18;
  y += draw_text(cr, w.intro, body_font, kMargin, y, kTextWidth) + 16;

  // The PIN, large and spaced, in a box.
  double box_top = y;
  double box_height = 112;
  cairo_set_source_rgb(cr, 0.94, 0.94, 0.94);
  cairo_rectangle(cr, kMargin, box_top, kTextWidth, box_height);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_width(cr, 1.2);
  cairo_stroke(cr);
  draw_text(cr, w.pin_label, "IPAexGothic Bold 11", kMargin + 12, box_top + 10, kTextWidth - 24);
  // DejaVu Sans Mono tells 0 from O and 1 from l; IPAexGothic covers anything else.
  draw_line_fitted(cr, format_pin_for_print(d.application_pin), "DejaVu Sans Mono,IPAexGothic Bold", 30, kMargin + 12,
                   box_top + 30, kTextWidth - 24, 4);
  draw_text(cr, std::string(w.pin_expiry) + (ja ? "：" : ": ") + date_time_text(d.pin_expires_at, ja), sans,
            kMargin + 12, box_top + 74, kTextWidth - 24);
  draw_text(cr, w.pin_note, sans_small, kMargin + 12, box_top + 91, kTextWidth - 24);
  y = box_top + box_height + 20;

  // Steps.
  y += draw_text(cr, w.steps_heading, "IPAexGothic Bold 12", kMargin, y, kTextWidth) + 6;
  for (std::size_t i = 0; i < w.steps.size(); ++i) {
    std::string step = w.steps[i];
    if (i == 1 && !d.enrollment_url.empty()) step += "\n" + d.enrollment_url;
    draw_text(cr, std::to_string(i + 1) + ".", sans, kMargin + 4, y, 20);
    y += draw_text(cr, step, body_font, kMargin + 22, y, kTextWidth - 22) + 4;
  }
  y += 10;

  // Notes.
  y += draw_text(cr, w.notes_heading, "IPAexGothic Bold 11", kMargin, y, kTextWidth) + 4;
  for (const auto& note : w.notes) {
    draw_text(cr, "・", sans_small, kMargin + 4, y, 14);
    y += draw_text(cr, note, "IPAexMincho 9.5", kMargin + 18, y, kTextWidth - 18) + 2;
  }

  // Sender and help desk at the foot of the page.
  std::string foot = d.issuer_name;
  if (!d.help_desk.empty()) foot += "\n" + std::string(w.help_label) + (ja ? "：" : ": ") + d.help_desk;
  cairo_set_line_width(cr, 0.6);
  cairo_move_to(cr, kMargin, kPageHeight - kMargin - 36);
  cairo_line_to(cr, kPageWidth - kMargin, kPageHeight - kMargin - 36);
  cairo_stroke(cr);
  draw_text(cr, foot, sans, kMargin, kPageHeight - kMargin - 30, kTextWidth, Align::right);
}

}  // namespace

std::vector<std::string> address_lines(const std::string& address) {
  // One line unless the address is long: the letter's window holds 4 lines.
  std::vector<std::string> lines;
  std::string rest = address;
  while (!rest.empty() && lines.size() < 3) {
    std::size_t cut = rest.size() <= 60 ? rest.size() : rest.rfind(' ', 60);
    if (cut == std::string::npos || cut == 0) cut = rest.size();
    lines.push_back(rest.substr(0, cut));
    rest = cut < rest.size() ? rest.substr(cut + 1) : "";
  }
  if (!rest.empty()) lines.push_back(rest);
  return lines;
}

ApprovalLetter compose_approval_letter(RaContext& ctx, const Application& app, const IssuedPin& pin,
                                       const std::optional<std::string>& enrollment_url) {
  ApprovalLetter l;
  l.applicant_name = app.form.name_kanji;
  l.postal_code = app.form.postcode;
  l.address_lines = address_lines(app.form.home_address);
  l.application_number = std::to_string(app.id);
  l.application_pin = pin.pin;
  l.pin_expires_at = pin.expires_at;
  l.issued_at = ctx.clock();
  l.enrollment_url = enrollment_url.value_or(ctx.config.ra.enrollment_url);
  return l;
}

std::string format_pin_for_print(const std::string& pin) {
  // Groups of four separated by spaces, whatever separators the PIN came with: the note under
  // it says the spaces need not be typed, and the RA ignores spaces and hyphens when checking.
  std::string bare;
  for (char c : pin)
    if (c != ' ' && c != '-') bare += c;
  std::string out;
  for (std::size_t i = 0; i < bare.size(); ++i) {
    if (i > 0 && i % 4 == 0) out += ' ';
    out += bare[i];
  }
  return out;
}

Bytes render_approval_letter(const ApprovalLetter& d, const std::string& language) {
  JITSUIN_ARG_CHECK(language == "ja" || language == "en", "letter language must be \"ja\" or \"en\"");
  JITSUIN_ARG_CHECK(!d.applicant_name.empty(), "the approval notice needs the applicant's name");
  JITSUIN_ARG_CHECK(!d.address_lines.empty(), "the approval notice needs the applicant's address");
  // The page has room for this much; more would run into the instructions.
  JITSUIN_ARG_CHECK(d.address_lines.size() <= 4, "the address has more than 4 lines");
  JITSUIN_ARG_CHECK(!d.application_number.empty(), "the approval notice needs the application number");
  JITSUIN_ARG_CHECK(!d.application_pin.empty(), "the approval notice needs the application PIN");
  JITSUIN_ARG_CHECK(d.pin_expires_at > 0, "the approval notice needs the PIN's expiry time");
  Bytes pdf;
  {
    std::unique_ptr<cairo_surface_t, SurfaceDeleter> surface(
        cairo_pdf_surface_create_for_stream(append_to_bytes, &pdf, kPageWidth, kPageHeight));
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE,
                                   language == "ja" ? "電子証明書発行申請承認通知書" : "Approval notice");
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATOR, "jitsuin");
    std::unique_ptr<cairo_t, CairoDeleter> cr(cairo_create(surface.get()));
    draw(cr.get(), d, language == "ja");
    cairo_show_page(cr.get());
    cairo_status_t st = cairo_status(cr.get());
    cr.reset();
    cairo_surface_finish(surface.get());
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(surface.get());
    if (st != CAIRO_STATUS_SUCCESS)
      throw Error(ErrorKind::internal, std::string("cannot render the approval notice: ") + cairo_status_to_string(st),
                  st);
  }
  return pdf;
}

void write_approval_letter(const std::filesystem::path& path, const ApprovalLetter& data,
                           const std::string& language) {
  Bytes pdf = render_approval_letter(data, language);
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(pdf.data()), pdf.size()), 0600);
}

}  // namespace jitsuin::ra
