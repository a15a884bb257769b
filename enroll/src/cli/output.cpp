#include "cli/output.h"

#include <algorithm>
#include <vector>

#include "cli/ra_session.h"

#include "jitsuin/core/error.h"
#include "jitsuin/core/util.h"

namespace jitsuin::cli {

namespace fs = std::filesystem;

namespace {

// Whether `p` is `dir` or inside it (both canonical).
bool within(const fs::path& p, const fs::path& dir) {
  if (dir.empty()) return false;
  auto [d, q] = std::mismatch(dir.begin(), dir.end(), p.begin(), p.end());
  return d == dir.end();
}

fs::path weakly_canonical_or_self(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(fs::absolute(p, ec), ec);
  return ec ? p : c;
}

fs::path canonical_or_empty(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::canonical(p, ec);
  return ec ? fs::path() : c;
}

}  // namespace

OutputFile::OutputFile(const Context& ctx, std::string option, fs::path path, Existing existing)
    : option_(std::move(option)), path_(std::move(path)) {
  check_folder(existing);
  // The entry that will be replaced is the folder's (rename replaces a symlink, never writes
  // through it): the canonical folder plus the name.
  fs::path target = canonical_or_empty(path_.parent_path().empty() ? fs::path(".") : path_.parent_path()) /
                    path_.filename();
  const auto& c = ctx.config();
  const fs::path& db = c.database.path;
  std::vector<fs::path> own_files = {db,
                                     db.string() + "-wal",
                                     db.string() + "-shm",
                                     db.string() + "-journal",
                                     db.parent_path() / "outbox.key",
                                     c.hsm.pin_file,
                                     c.home / "ca.so-pin",
                                     c.home / "softhsm2.conf",
                                     c.home / "jitsuin.json",
                                     session_file(ctx)};
  std::vector<fs::path> own_folders = {c.home / "tokens", c.home / "letters", c.home / "sessions",
                                       c.ca.crl.publish_dir, c.mail.maildir};
  auto refuse = [&](const fs::path& own) {
    throw Error(ErrorKind::invalid_input, option_ + " " + path_.string() + " would replace jitsuin's own " +
                                              own.string() + "; write somewhere else");
  };
  for (const auto& f : own_files)
    if (weakly_canonical_or_self(f) == target) refuse(f);
  for (const auto& d : own_folders)
    if (within(target, weakly_canonical_or_self(d))) refuse(d);
}

OutputFile OutputFile::in_home(const Context&, const fs::path& path) {
  create_private_directories(path.parent_path());
  OutputFile f("--letter", path);
  f.check_folder(Existing::replace);
  return f;
}

void OutputFile::check_folder(Existing existing) const {
  auto what = option_ + " " + path_.string();
  if (path_.empty() || path_.filename().empty() || path_.filename() == "." || path_.filename() == "..")
    throw Error(ErrorKind::invalid_input, what + ": not a file name");
  fs::path folder = path_.parent_path().empty() ? fs::path(".") : path_.parent_path();
  std::error_code ec;
  if (!fs::is_directory(folder, ec))
    throw Error(ErrorKind::invalid_input, what + ": the folder " + folder.string() +
                                              " does not exist (jitsuin does not create folders for its output)");
  auto st = fs::symlink_status(path_, ec);
  if (fs::exists(st)) {
    if (fs::is_directory(st)) throw Error(ErrorKind::invalid_input, what + " is a folder; give a file name");
    if (!fs::is_regular_file(st) && !fs::is_symlink(st))
      throw Error(ErrorKind::invalid_input, what + " exists and is not a regular file");
    if (existing == Existing::refuse)
      throw Error(ErrorKind::conflict, what + " exists; refusing to overwrite it");
  }
  try {
    StagedFile probe(path_, "", 0600);   // never committed: proves the folder takes the file
  } catch (const Error& e) {
    throw Error(ErrorKind::io, what + ": " + e.what(), e.native_code());
  }
}

void OutputFile::write(std::string_view data, unsigned mode) const { write_file_atomic(path_, data, mode); }

}  // namespace jitsuin::cli
