#pragma once
// Files a command writes for its user (ca issue --out and --chain, ra issue-pin --letter, ra
// operator-key --out): checked before the command changes anything, written atomically after.
#include <filesystem>
#include <string>
#include <string_view>

#include "cli/context.h"

namespace jitsuin::cli {

class OutputFile {
 public:
  /// What may be in the way.
  enum class Existing { replace, refuse };

  /// Checks `path`, given with `option` (named in errors), before anything is changed: its folder
  /// exists (jitsuin never creates it) and takes a new file (one is made and removed), the path is
  /// no folder, and it is none of jitsuin's own files: the database and its journals, the outbox
  /// key, the PIN files, softhsm2.conf, jitsuin.json, the session file, nor anything in the token,
  /// letters, sessions, CRL or maildir folders. Throws
  /// invalid_input (conflict for an existing file with Existing::refuse, io when the folder cannot
  /// be written to), naming the option and path.
  OutputFile(const Context& ctx, std::string option, std::filesystem::path path,
             Existing existing = Existing::replace);

  /// A file jitsuin keeps in its own folder under the home (the default approval letter): the
  /// folder is created private (0700) and the home check is skipped.
  static OutputFile in_home(const Context& ctx, const std::filesystem::path& path);

  /// Writes the whole file atomically (temporary file in the same folder, fsync, rename).
  void write(std::string_view data, unsigned mode) const;

  const std::filesystem::path& path() const { return path_; }

 private:
  OutputFile(std::string option, std::filesystem::path path) : option_(std::move(option)), path_(std::move(path)) {}
  void check_folder(Existing existing) const;
  std::string option_;
  std::filesystem::path path_;
};

}  // namespace jitsuin::cli
