import { initPage } from "/common/page.js";

await initPage({ kind: "applicant", titleKey: document.querySelector("h1").dataset.i18n });
