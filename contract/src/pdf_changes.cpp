#include "pdf_changes.h"

#include <qpdf/Buffer.hh>
#include <qpdf/QPDFObjectHandle.hh>

#include <cstdio>
#include <map>
#include <optional>

#include "jitsuin/core/util.h"
#include "pdf_file.h"

namespace jitsuin::contract {

namespace {

using Keys = std::set<std::string>;

std::string ref_name(QPDFObjectHandle h) {
  return h.isIndirect() ? " (object " + std::to_string(h.getObjectID()) + " " + std::to_string(h.getGeneration()) + ")"
                        : "";
}

// Where the pages and the annotations on them are in one revision: the page's position, the
// page an annotation is listed on.
struct PageIndex {
  std::map<QPDFObjGen, std::size_t> pages;
  std::map<QPDFObjGen, std::size_t> annotations;

  explicit PageIndex(QPDF& pdf) {
    auto& all = pdf.getAllPages();
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (all[i].isIndirect()) pages.emplace(all[i].getObjGen(), i + 1);
      QPDFObjectHandle page = all[i];
      QPDFObjectHandle annots = page.getKey("/Annots");
      if (annots.isArray())
        for (auto& x : annots.getArrayAsVector())
          if (x.isIndirect()) annotations.emplace(x.getObjGen(), i + 1);
    }
  }
};

// A canonical digest of an object and everything it refers to (streams by their raw data), so
// that two revisions can be compared by what they mean rather than by object numbers. Back
// references (/Parent, an annotation's /P) are left out: they lead into the page and field trees,
// compared on their own. A reference to a page or to an annotation listed on a page, reached from
// anywhere else (the structure tree's /Pg and /OBJR, an outline's or a link's destination, a
// field's /Kids), is written as which page or which annotation it is, not as its content: the
// pages and their annotations are compared on their own (compare_pages), and an allowed change
// there (a signature widget added to /Annots, an empty signature field signed) must not read as a
// change of everything that points at the page (ISO 32000-2 12.8.2.2; pyHanko's difference
// analysis treats references into the page tree the same way). A reference loop is written as a
// marker naming the object.
class Fingerprints {
 public:
  /// `untouched`: objects written at the same offset of the file in both revisions (the signed
  /// revision is a prefix of the file, so their bytes are the same): their stream data is not
  /// read and hashed again, which for large images is most of the work. `index`: the pages and
  /// annotations of the revision fingerprinted.
  Fingerprints(const std::set<QPDFObjGen>& untouched, const PageIndex& index, std::set<QPDFObjGen> omit = {})
      : untouched_(untouched), index_(index), omit_(std::move(omit)) {}

  std::string of(QPDFObjectHandle h, const Keys& skip = {}) {
    if (h.isIndirect() && skip.empty()) {
      QPDFObjGen og = h.getObjGen();
      if (auto it = memo_.find(og); it != memo_.end()) return it->second;
      if (on_stack_.count(og)) return "<loop " + og.unparse(' ') + ">";
      on_stack_.insert(og);
      std::string d = to_hex(sha256(serialize(h, skip)));
      on_stack_.erase(og);
      memo_[og] = d;
      return d;
    }
    if (h.isIndirect()) {
      QPDFObjGen og = h.getObjGen();
      if (on_stack_.count(og)) return "<loop " + og.unparse(' ') + ">";
      on_stack_.insert(og);
      std::string d = to_hex(sha256(serialize(h, skip)));
      on_stack_.erase(og);
      return d;
    }
    return to_hex(sha256(serialize(h, skip)));
  }

 private:
  std::string serialize(QPDFObjectHandle h, const Keys& skip) {
    if (h.isStream()) {
      std::string raw;
      // Named by the object: two untouched streams of equal length are still different streams.
      if (h.isIndirect() && untouched_.count(h.getObjGen()))
        return "stream(" + dict(h.getDict(), skip) + ",bytes of " + h.getObjGen().unparse(' ') + ")";
      try {
        auto buf = h.getRawStreamData();
        raw = to_hex(sha256(std::string_view(reinterpret_cast<const char*>(buf->getBuffer()), buf->getSize())));
      } catch (const std::exception&) {
        raw = "<unreadable>";
      }
      return "stream(" + dict(h.getDict(), skip) + "," + raw + ")";
    }
    if (h.isDictionary()) return dict(h, skip);
    if (h.isArray()) {
      std::string s = "[";
      for (auto& item : h.getArrayAsVector()) s += child(item) + " ";
      return s + "]";
    }
    return scalar(h);
  }
  // A real as a conforming reader may hold it, a 32-bit float (ISO 32000-1 Annex C): writers that
  // rewrite an object print reals with fewer digits (poppler: 595.303937007874 becomes
  // 595.3039370079), which no reader can tell apart.
  static std::string scalar(QPDFObjectHandle h) {
    if (!h.isReal()) return h.unparse();
    char text[32];
    std::snprintf(text, sizeof text, "real %.9g", static_cast<double>(static_cast<float>(h.getNumericValue())));
    return text;
  }
  std::string dict(QPDFObjectHandle d, const Keys& skip) {
    std::string s = "<<";
    // An annotation's /P is its page, a structure element's /P its parent element: back
    // references like /Parent (the structure tree is what the parents' /K say, as pyHanko reads
    // it). Elsewhere /P means more (DocMDP's permission level) and is compared.
    bool annotation = d.hasKey("/Rect") && d.hasKey("/Subtype");
    std::string type = text_of(d.getKey("/Type"));
    bool struct_element = type == "/StructElem" || (type.empty() && d.hasKey("/S") && d.hasKey("/P"));
    for (auto& k : d.getKeys()) {
      if (k == "/Parent" || (k == "/P" && (annotation || struct_element)) || skip.count(k)) continue;
      QPDFObjectHandle v = d.getKey(k);
      if (!omit_.empty() && (k == "/K" || k == "/Nums") && v.isArray()) s += k + " {" + to_hex(sha256(without_omitted(v, k == "/Nums"))) + "} ";
      else s += k + " " + child(v) + " ";
    }
    return s + ">>";
  }
  // A structure element's kids, or a number tree's (key, value) pairs, without the omitted
  // elements (and their keys): serialized as an array is, so that nothing omitted is the same.
  std::string without_omitted(QPDFObjectHandle array, bool pairs) {
    auto items = array.getArrayAsVector();
    std::string s = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (pairs && i + 1 < items.size() && items[i + 1].isIndirect() && omit_.count(items[i + 1].getObjGen())) {
        ++i;
        continue;
      }
      if (!pairs && items[i].isIndirect() && omit_.count(items[i].getObjGen())) continue;
      s += child(items[i]) + " ";
    }
    return s + "]";
  }
  std::string child(QPDFObjectHandle h) {
    if (h.isIndirect()) {
      if (auto p = index_.pages.find(h.getObjGen()); p != index_.pages.end())
        return "<page " + std::to_string(p->second) + ">";
      if (auto a = index_.annotations.find(h.getObjGen()); a != index_.annotations.end())
        return "<annotation " + h.getObjGen().unparse(' ') + " of page " + std::to_string(a->second) + ">";
    }
    if (h.isIndirect() || h.isDictionary() || h.isArray() || h.isStream()) return "{" + of(h) + "}";
    return scalar(h);
  }

  const std::set<QPDFObjGen>& untouched_;
  const PageIndex& index_;
  std::set<QPDFObjGen> omit_;
  std::map<QPDFObjGen, std::string> memo_;
  std::set<QPDFObjGen> on_stack_;
};

// Objects at the same offset in both cross-reference tables, outside object streams.
std::set<QPDFObjGen> untouched_objects(QPDF& before, QPDF& after) {
  std::set<QPDFObjGen> same;
  auto xb = before.getXRefTable();
  auto xa = after.getXRefTable();
  for (auto& [og, entry] : xb) {
    auto it = xa.find(og);
    if (entry.getType() == 1 && it != xa.end() && it->second.getType() == 1 && it->second.getOffset() == entry.getOffset())
      same.insert(og);
  }
  return same;
}

// What an object redefined in a later revision is, for the message naming it.
std::string describe(QPDFObjectHandle h) {
  QPDFObjectHandle d = h.isStream() ? h.getDict() : h;
  std::string type = d.isDictionary() ? text_of(d.getKey("/Type")) : "";
  std::string sub = d.isDictionary() ? text_of(d.getKey("/Subtype")) : "";
  std::string what = h.isStream() ? "a stream" : d.isDictionary() ? "a dictionary" : d.isArray() ? "an array" : "an object";
  if (!type.empty() || !sub.empty()) what += " (" + type + (type.empty() || sub.empty() ? "" : " ") + sub + ")";
  return what;
}

// Comments that cannot hide what a page shows: an icon, a popup, text markup over existing text.
bool harmless_comment(const std::string& subtype) {
  static const std::set<std::string> kinds = {"/Text", "/Popup", "/Highlight", "/Underline", "/StrikeOut", "/Squiggly"};
  return kinds.count(subtype) > 0;
}

// The field type of a widget or field, looking up the field tree (bounded).
std::string field_type(QPDFObjectHandle h) {
  for (int depth = 0; depth < 32 && h.isDictionary(); ++depth) {
    if (h.hasKey("/FT")) return text_of(h.getKey("/FT"));
    h = h.getKey("/Parent");
  }
  return "";
}

// The fully qualified name of a field or widget (partial names up the tree, bounded).
std::string field_name(QPDFObjectHandle h) {
  std::string name;
  for (int depth = 0; depth < 32 && h.isDictionary(); ++depth) {
    if (h.hasKey("/T")) name = text_of(h.getKey("/T")) + (name.empty() ? "" : "." + name);
    h = h.getKey("/Parent");
  }
  return name;
}

struct Comparison {
  QPDF& before;
  QPDF& after;
  const ChangePolicy& policy;
  const std::set<QPDFObjGen>& untouched;
  const PageIndex& pages_before;
  const PageIndex& pages_after;
  Fingerprints fb, fa;
  std::vector<Change> changes;
  std::set<QPDFObjGen> accounted;   // objects of `after` whose redefinition a checked change explains

  void add(bool allowed, std::string what) { changes.push_back({allowed, std::move(what)}); }
  void account(QPDFObjectHandle h) {
    if (h.isIndirect()) accounted.insert(h.getObjGen());
  }

  bool fill_allowed(const std::string& name) const {
    return policy.docmdp != 1 && !policy.all_fields_locked && !policy.locked_fields.count(name);
  }
  // PAdES lets DSS data and document timestamps follow a certification with P=1; nothing else.
  std::string forbidden_by_p1() const {
    return policy.docmdp == 1 ? ", which the certification signature (DocMDP P=1) forbids" : "";
  }
  bool comments_allowed() const { return policy.docmdp == 0 || policy.docmdp == 3; }

  void compare_pages() {
    before.pushInheritedAttributesToPage();
    after.pushInheritedAttributesToPage();
    auto& pb = before.getAllPages();
    auto& pa = after.getAllPages();
    account(after.getRoot().getKey("/Pages"));
    if (pb.size() != pa.size()) {
      add(false, "page tree changed: " + std::to_string(pb.size()) + " pages when signed, " + std::to_string(pa.size()) +
                     " now");
      return;
    }
    for (std::size_t i = 0; i < pb.size(); ++i) {
      std::string page = "page " + std::to_string(i + 1);
      QPDFObjectHandle b = pb[i], a = pa[i];
      account(a);
      if (fb.of(b, {"/Annots"}) != fa.of(a, {"/Annots"})) {
        Keys keys = b.getKeys();
        for (auto& k : a.getKeys()) keys.insert(k);
        for (auto& k : keys) {
          if (k == "/Annots" || k == "/Parent") continue;
          if (fb.of(b.getKey(k)) == fa.of(a.getKey(k))) continue;
          if (k == "/Contents") add(false, page + " content changed");
          else if (k == "/Resources") add(false, page + " resources changed (fonts, images or forms it draws)");
          else add(false, page + " " + k + " changed");
        }
      }
      compare_annotations(page, b.getKey("/Annots"), a.getKey("/Annots"));
    }
  }

  void compare_annotations(const std::string& page, QPDFObjectHandle b, QPDFObjectHandle a) {
    account(a);
    std::map<QPDFObjGen, QPDFObjectHandle> old_annots;
    std::vector<QPDFObjectHandle> direct_old;
    if (b.isArray())
      for (auto& x : b.getArrayAsVector()) {
        if (x.isIndirect()) old_annots[x.getObjGen()] = x;
        else direct_old.push_back(x);
      }
    std::set<QPDFObjGen> seen;
    std::vector<QPDFObjectHandle> direct_new;
    if (a.isArray())
      for (auto& x : a.getArrayAsVector()) {
        if (!x.isDictionary()) continue;
        if (!x.isIndirect()) {
          direct_new.push_back(x);
          continue;
        }
        auto it = old_annots.find(x.getObjGen());
        if (it == old_annots.end()) {
          new_annotation(page, x);
          continue;
        }
        seen.insert(x.getObjGen());
        changed_annotation(page, it->second, x);
      }
    for (auto& [og, x] : old_annots)
      if (!seen.count(og)) add(false, page + ": annotation " + text_of(x.getKey("/Subtype")) + ref_name(x) + " removed");
    // Direct annotations (unusual) have no identity: they must be unchanged, in order.
    std::string db, da;
    for (auto& x : direct_old) db += fb.of(x) + ",";
    for (auto& x : direct_new) da += fa.of(x) + ",";
    if (db != da) add(false, page + ": direct annotations changed");
  }

  void new_annotation(const std::string& page, QPDFObjectHandle x) {
    std::string sub = text_of(x.getKey("/Subtype"));
    account(x);
    if (sub == "/Widget" && field_type(x) == "/Sig") {
      add(policy.docmdp != 1, page + ": widget of signature field " + field_name(x) + " added" + forbidden_by_p1());
    } else if (harmless_comment(sub) && comments_allowed()) {
      add(true, page + ": comment " + sub + " added");
    } else {
      std::string rect = x.getKey("/Rect").isArray() ? " at " + x.getKey("/Rect").unparse() : "";
      add(false, page + ": new " + (sub.empty() ? "annotation" : sub + " annotation") + rect +
                     " can change what the page shows");
    }
  }

  void changed_annotation(const std::string& page, QPDFObjectHandle b, QPDFObjectHandle a) {
    if (fb.of(b) == fa.of(a)) return;
    // Form filling: a widget's value and appearance may change where permitted.
    std::string type = field_type(a);
    if (text_of(a.getKey("/Subtype")) == "/Widget" &&
        fb.of(b, {"/V", "/AP", "/AS", "/M"}) == fa.of(a, {"/V", "/AP", "/AS", "/M"})) {
      std::string name = field_name(a);
      if (type == "/Sig") {
        account(a);
        add(true, page + ": appearance of signature field " + name + " set");
        return;
      }
      if (fill_allowed(name)) {
        account(a);
        add(true, page + ": form field " + name + " filled in");
        return;
      }
      add(false, page + ": form field " + name + " changed, which " +
                     (policy.docmdp == 1 ? "the certification signature (DocMDP P=1) forbids" : "a FieldMDP lock forbids"));
      return;
    }
    add(false, page + ": annotation " + text_of(a.getKey("/Subtype")) + ref_name(a) + " changed");
  }

  void compare_catalog() {
    QPDFObjectHandle b = before.getRoot(), a = after.getRoot();
    account(a);
    Keys keys = b.getKeys();
    for (auto& k : a.getKeys()) keys.insert(k);
    for (auto& k : keys) {
      if (k == "/Pages" || k == "/AcroForm") continue;
      if (fb.of(b.getKey(k)) == fa.of(a.getKey(k))) continue;
      if (k == "/DSS") {
        add(true, "document security store (DSS/VRI validation data) " + std::string(b.hasKey(k) ? "updated" : "added"));
        account_tree(a.getKey(k));
      } else if (k == "/StructTreeRoot" && b.hasKey(k) && signature_struct_elements(b.getKey(k), a.getKey(k))) {
        continue;
      } else if (k == "/Metadata" || k == "/Extensions" || k == "/Version") {
        add(true, "catalog " + k + " updated");
        account(a.getKey(k));
      } else {
        add(false, "document catalog " + k + (b.hasKey(k) ? " changed" : " added"));
      }
    }
  }

  // A tagged PDF's structure tree after a signature widget was added (ISO 32000-2 12.8.2.2: adding
  // a signature field to a tagged document adds its struct element): the same tree once new
  // structure elements whose only kids are object references to new signature widgets are left
  // out of the /K arrays and the /ParentTree, with /ParentTreeNextKey not going back. Then every
  // object of the tree is the same but for that bookkeeping, and is accounted for.
  bool signature_struct_elements(QPDFObjectHandle b, QPDFObjectHandle a) {
    if (!a.isDictionary() || !b.isDictionary()) return false;
    auto xb = before.getXRefTable();
    std::set<QPDFObjGen> new_sig_widgets;
    for (auto& [og, page] : pages_after.annotations) {
      (void)page;
      QPDFObjectHandle w = after.getObject(og);
      if (!pages_before.annotations.count(og) && !xb.count(og) && text_of(w.getKey("/Subtype")) == "/Widget" &&
          field_type(w) == "/Sig")
        new_sig_widgets.insert(og);
    }
    if (new_sig_widgets.empty()) return false;
    std::set<QPDFObjGen> omit;
    std::vector<std::string> names;
    for (auto& [og, entry] : after.getXRefTable()) {
      (void)entry;
      if (xb.count(og)) continue;
      QPDFObjectHandle e = after.getObject(og);
      if (!e.isDictionary() || !e.hasKey("/S")) continue;
      QPDFObjectHandle k = e.getKey("/K");
      std::vector<QPDFObjectHandle> kids = k.isArray() ? k.getArrayAsVector() : std::vector<QPDFObjectHandle>{k};
      bool only_signatures = !kids.empty();
      std::vector<std::string> fields;
      for (auto& kid : kids) {
        if (!only_signatures || !kid.isDictionary() || text_of(kid.getKey("/Type")) != "/OBJR") {
          only_signatures = false;
          break;
        }
        QPDFObjectHandle obj = kid.getKey("/Obj");
        only_signatures = obj.isIndirect() && new_sig_widgets.count(obj.getObjGen());
        if (only_signatures) fields.push_back(field_name(obj));
      }
      if (!only_signatures) continue;
      omit.insert(og);
      names.insert(names.end(), fields.begin(), fields.end());
    }
    if (omit.empty()) return false;
    QPDFObjectHandle nb = b.getKey("/ParentTreeNextKey"), na = a.getKey("/ParentTreeNextKey");
    if (nb.isInteger() != na.isInteger() || (nb.isInteger() && na.getIntValue() < nb.getIntValue())) return false;
    // Fresh fingerprints on both sides, so that both walk the trees from their roots alike.
    Fingerprints signed_tree(untouched, pages_before), without(untouched, pages_after, omit);
    if (signed_tree.of(b, {"/ParentTreeNextKey"}) != without.of(a, {"/ParentTreeNextKey"})) return false;
    for (auto& name : names) add(true, "structure tree: struct element of signature field " + name + " added");
    // Every object of the tree compared above (not the new elements left out; the pages and
    // annotations it points at are compared with the pages).
    std::vector<QPDFObjectHandle> stack{a};
    std::set<QPDFObjGen> seen;
    while (!stack.empty()) {
      QPDFObjectHandle h = stack.back();
      stack.pop_back();
      if (h.isIndirect()) {
        QPDFObjGen og = h.getObjGen();
        if (seen.count(og) || omit.count(og) || pages_after.pages.count(og) || pages_after.annotations.count(og)) continue;
        seen.insert(og);
        account(h);
      }
      if (h.isDictionary() || h.isStream()) {
        QPDFObjectHandle d = h.isStream() ? h.getDict() : h;
        for (auto& key : d.getKeys()) stack.push_back(d.getKey(key));
      } else if (h.isArray()) {
        for (auto& x : h.getArrayAsVector()) stack.push_back(x);
      }
    }
    return true;
  }

  // DSS data: every object under it is new validation data.
  void account_tree(QPDFObjectHandle h, int depth = 0) {
    if (depth > 8) return;
    if (h.isIndirect()) {
      if (accounted.count(h.getObjGen())) return;
      account(h);
    }
    if (h.isDictionary())
      for (auto& k : h.getKeys()) account_tree(h.getKey(k), depth + 1);
    else if (h.isArray())
      for (auto& x : h.getArrayAsVector()) account_tree(x, depth + 1);
  }

  void compare_form() {
    QPDFObjectHandle fb_form = before.getRoot().getKey("/AcroForm"), fa_form = after.getRoot().getKey("/AcroForm");
    account(fa_form);
    if (fa_form.isDictionary()) account(fa_form.getKey("/Fields"));
    if (fb.of(fb_form, {"/Fields", "/SigFlags", "/DR", "/DA"}) != fa.of(fa_form, {"/Fields", "/SigFlags", "/DR", "/DA"}) &&
        fb_form.isDictionary())
      add(false, "interactive form (/AcroForm) settings changed");
    std::map<std::string, QPDFObjectHandle> old_fields;
    for (auto& [name, f] : form_fields(before)) old_fields[name] = f;
    std::set<std::string> seen;
    for (auto& [name, f] : form_fields(after)) {
      auto it = old_fields.find(name);
      std::string type = field_type(f);
      if (it == old_fields.end()) {
        if (type == "/Sig") {
          add(policy.docmdp != 1,
              "signature field " + name + " added" + (f.getKey("/V").isDictionary() ? " and signed" : "") + forbidden_by_p1());
          account(f);
          account(f.getKey("/V"));
        } else {
          add(false, "form field " + name + " added");
        }
        continue;
      }
      seen.insert(name);
      QPDFObjectHandle b = it->second;
      if (fb.of(b) == fa.of(f)) continue;
      if (fb.of(b, {"/V", "/AP", "/AS", "/M", "/Kids"}) != fa.of(f, {"/V", "/AP", "/AS", "/M", "/Kids"})) {
        add(false, "form field " + name + " redefined");
        continue;
      }
      bool value_changed = fb.of(b.getKey("/V")) != fa.of(f.getKey("/V"));
      if (type == "/Sig") {
        if (value_changed && b.getKey("/V").isDictionary()) {
          add(false, "signature field " + name + ": its signature was replaced");
          continue;
        }
        if (value_changed) add(policy.docmdp != 1, "signature field " + name + " signed" + forbidden_by_p1());
        account(f);
        account(f.getKey("/V"));
        continue;
      }
      if (!value_changed) {
        account(f);   // appearance only: judged with the page's annotations
        continue;
      }
      if (fill_allowed(name)) {
        add(true, "form field " + name + " filled in");
        account(f);
        account(f.getKey("/V"));
      } else {
        add(false, "form field " + name + " changed, which " +
                       (policy.docmdp == 1 ? std::string("the certification signature (DocMDP P=1) forbids")
                                           : std::string("a FieldMDP lock forbids")));
      }
    }
    for (auto& [name, f] : old_fields)
      if (!seen.count(name)) add(false, "form field " + name + " removed");
  }

  // Every object the signed revision defined and a later revision redefined or deleted must be one
  // that a checked, allowed change explains.
  void compare_objects() {
    auto xb = before.getXRefTable();
    auto xa = after.getXRefTable();
    QPDFObjectHandle info = after.getTrailer().getKey("/Info");
    account(info);
    for (auto& [og, entry] : xb) {
      (void)entry;
      QPDFObjectHandle ob = before.getObject(og);
      if (ob.isStream() && text_of(ob.getDict().getKey("/Type")) == "/XRef") continue;
      auto it = xa.find(og);
      if (it == xa.end()) {
        add(false, "object " + og.unparse(' ') + " (" + describe(ob) + ") deleted after signing");
        continue;
      }
      if (untouched.count(og)) continue;
      QPDFObjectHandle oa = after.getObject(og);
      if (shallow(ob) == shallow(oa)) continue;
      if (accounted.count(og)) continue;
      add(false, "object " + og.unparse(' ') + " redefined after signing (" + describe(oa) +
                     "): an earlier object overridden by a later revision (shadow attack)");
    }
  }

  // An object's own content (references left as references).
  static std::string shallow(QPDFObjectHandle h) {
    try {
      if (h.isStream()) {
        auto buf = h.getRawStreamData();
        return h.getDict().unparse() +
               to_hex(sha256(std::string_view(reinterpret_cast<const char*>(buf->getBuffer()), buf->getSize())));
      }
      return h.unparseResolved();
    } catch (const std::exception& e) {
      return std::string("<unreadable: ") + e.what() + ">";
    }
  }
};

}  // namespace

std::vector<Change> compare_revisions(QPDF& before, QPDF& after, const ChangePolicy& policy) {
  const std::set<QPDFObjGen> untouched = untouched_objects(before, after);
  const PageIndex pages_before(before), pages_after(after);
  Comparison c{before,
               after,
               policy,
               untouched,
               pages_before,
               pages_after,
               Fingerprints(untouched, pages_before),
               Fingerprints(untouched, pages_after),
               {},
               {}};
  c.compare_pages();
  c.compare_catalog();
  c.compare_form();
  c.compare_objects();
  return c.changes;
}

ChangePolicy change_policy(QPDF& signed_revision) {
  ChangePolicy p;
  QPDFObjectHandle perms = signed_revision.getRoot().getKey("/Perms");
  auto docmdp_of = [](QPDFObjectHandle sig) -> int {
    QPDFObjectHandle refs = sig.getKey("/Reference");
    if (!refs.isArray()) return 0;
    for (auto& r : refs.getArrayAsVector()) {
      if (!r.isDictionary() || text_of(r.getKey("/TransformMethod")) != "/DocMDP") continue;
      QPDFObjectHandle v = r.getKey("/TransformParams").getKey("/P");
      return v.isInteger() && v.getIntValue() >= 1 && v.getIntValue() <= 3 ? static_cast<int>(v.getIntValue()) : 2;
    }
    return 0;
  };
  if (perms.isDictionary() && perms.getKey("/DocMDP").isDictionary()) p.docmdp = docmdp_of(perms.getKey("/DocMDP"));
  auto lock = [&](QPDFObjectHandle l) {
    if (!l.isDictionary()) return;
    std::string action = text_of(l.getKey("/Action"));
    std::set<std::string> named;
    if (l.getKey("/Fields").isArray())
      for (auto& f : l.getKey("/Fields").getArrayAsVector()) named.insert(text_of(f));
    if (action == "/All") p.all_fields_locked = true;
    else if (action == "/Include") p.locked_fields.insert(named.begin(), named.end());
    else if (action == "/Exclude") {
      for (auto& [name, f] : form_fields(signed_revision))
        if (!named.count(name)) p.locked_fields.insert(name);
    }
  };
  for (auto& s : signature_fields(signed_revision)) {
    lock(s.field.getKey("/Lock"));
    QPDFObjectHandle refs = s.value.getKey("/Reference");
    if (refs.isArray())
      for (auto& r : refs.getArrayAsVector())
        if (r.isDictionary() && text_of(r.getKey("/TransformMethod")) == "/FieldMDP") lock(r.getKey("/TransformParams"));
  }
  return p;
}

}  // namespace jitsuin::contract
