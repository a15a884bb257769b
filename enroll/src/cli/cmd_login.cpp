// jitsuin login | logout: RA operator sessions. The token file (mode 0600, under the home) is the
// credential; the database keeps only its SHA-256 and its expiry. Adapters over session.login and
// session.logout of jitsuin_api; the terminal and the token file are the CLI's part.
#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "cli/api_call.h"
#include "cli/commands.h"
#include "cli/ra_session.h"
#include "jitsuin/core/error.h"

namespace jitsuin::cli {

std::filesystem::path session_file(const Context& ctx) {
  // A relative name is taken from the current folder (so that its parent folder is never empty).
  if (const char* env = std::getenv("JITSUIN_SESSION_FILE"); env && *env) return std::filesystem::absolute(env);
  const passwd* pw = getpwuid(geteuid());
  std::string user = pw ? pw->pw_name : std::to_string(geteuid());
  return ctx.config().home / "sessions" / (user + ".session");
}

std::string read_password(const std::string& prompt, const std::optional<std::string>& file) {
  if (file) return read_secret_file(*file);
  if (!isatty(STDIN_FILENO))
    throw Error(ErrorKind::invalid_input, "no terminal to ask for the password: use --password-file FILE (mode 0600)");
  std::cerr << prompt << std::flush;
  termios old{};
  tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string line;
  std::getline(std::cin, line);
  tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::cerr << "\n";
  return line;
}

namespace {

int login_cmd(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"user", "password-file"}, {});
  Context ctx(g);
  std::string user = a.get("user").value_or("");
  if (user.empty()) {
    const passwd* pw = getpwuid(geteuid());
    user = pw ? pw->pw_name : "";
  }
  std::string password = read_password("password for " + user + ": ", a.get("password-file"));
  auto r = call_api(ctx, "session.login", {{"user", user}, {"password", password}});
  auto file = session_file(ctx);
  if (!std::filesystem::exists(file.parent_path())) {
    // Only a folder we create is made private; a folder named by $JITSUIN_SESSION_FILE is left alone.
    std::filesystem::create_directories(file.parent_path());
    std::filesystem::permissions(file.parent_path(), std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace);
  }
  write_file_atomic(file, r["token"].get<std::string>() + "\n", 0600);
  std::cout << "logged in as " << str(r, "user") << " (" << str(r, "role") << ") until " << str(r, "expires_at")
            << "\n";
  if (r.value("password_change_required", false))
    std::cout << "your password is temporary: set your own now with `jitsuin ra passwd`; until then the session\n"
                 "allows nothing else\n";
  return 0;
}

int logout_cmd(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {});
  Context ctx(g);
  auto file = session_file(ctx);
  if (!std::filesystem::exists(file)) {
    std::cout << "not logged in\n";
    return 0;
  }
  call_api(ctx, "session.logout", nlohmann::json::object());
  std::filesystem::remove(file);
  std::cout << "logged out\n";
  return 0;
}

const CommandRegistrar kRegistrar({
    {"login", "", "login [--user NAME] [--password-file FILE]",
     "Logs an RA operator in and writes a session token to HOME/sessions/<unix user>.session (mode 0600),\n"
     "or to $JITSUIN_SESSION_FILE. Every `jitsuin ra` command acts as that operator until the session\n"
     "expires (ra.session_hours) or `jitsuin logout`. The password is read from the terminal, or from\n"
     "FILE (mode 0600). After ra.password_max_failures wrong passwords the account locks until an\n"
     "administrator runs `jitsuin ra operator-unlock`.",
     login_cmd},
    {"logout", "", "logout", "Ends the session and removes the token file.", logout_cmd},
});

}  // namespace

}  // namespace jitsuin::cli
