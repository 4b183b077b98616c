package io.tokendrift.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Opens report.html in headless Chromium (Debian's package; .ci/run installs it when missing): the
 * page loads with no console error, every chart has a size, and hostile text stays text.
 */
class HtmlReportBrowserTest {
  @TempDir Path dir;

  static String chromium() {
    for (String c : List.of("chromium", "chromium-browser", "google-chrome")) {
      for (String p : System.getenv().getOrDefault("PATH", "").split(":")) {
        if (Files.isExecutable(Path.of(p, c))) {
          return Path.of(p, c).toString();
        }
      }
    }
    return null;
  }

  /** A probe the test adds (the report itself has no script): chart sizes and what ran. */
  static final String PROBE =
      "<script>window.addEventListener('load',function(){var r=[],over=[];"
          + "document.querySelectorAll('svg.chart').forEach(function(s){var b=s.getBoundingClientRect();"
          + "r.push({id:s.id,w:b.width,h:b.height,right:b.right});"
          + "var vb=s.viewBox.baseVal;s.querySelectorAll('text').forEach(function(t){"
          + "var x=t.getBBox();var m=s.getScreenCTM().inverse().multiply(t.getScreenCTM());"
          + "var p=[[x.x,x.y],[x.x+x.width,x.y],[x.x,x.y+x.height],[x.x+x.width,x.y+x.height]]"
          + ".map(function(q){return new DOMPoint(q[0],q[1]).matrixTransform(m);});"
          + "var xs=p.map(function(q){return q.x;}),ys=p.map(function(q){return q.y;});"
          + "if(Math.min.apply(null,xs)<-1||Math.min.apply(null,ys)<-1"
          + "||Math.max.apply(null,xs)>vb.width+1||Math.max.apply(null,ys)>vb.height+1)"
          + "{over.push(s.id+': '+t.textContent);}});});"
          + "var o=document.createElement('pre');"
          + "o.id='probe';o.textContent=JSON.stringify({charts:r,overflow:over,"
          + "viewport:window.innerWidth,pageWidth:document.documentElement.scrollWidth,"
          + "title:document.title,"
          + "scripts:document.scripts.length,imgs:document.images.length});"
          + "document.body.appendChild(o);});</script>";

  @Test
  void reportLoadsWithoutErrorsChartsHaveSizeAndTextIsEscaped() throws Exception {
    // A wide window (two chart columns) and a phone's width (one).
    String browser = chromium();
    Assumptions.assumeTrue(
        browser != null, "no chromium on PATH: install Debian's chromium (.ci/run does)");
    JsonNode a = ReportFixtures.analysis(dir);
    String html = HtmlReport.render(a);
    for (int width : new int[] {1280, 390}) {
      probeAt(browser, html, width);
      screenshot(browser, html, width);
    }
  }

  /** Chromium headless, offline, with a fresh profile: the flags every run here shares. */
  private List<String> headless(String browser, int width, int height, String profile) {
    return new java.util.ArrayList<>(
        List.of(
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--window-size=" + width + "," + height,
            "--user-data-dir=" + dir.resolve(profile)));
  }

  /** A screenshot at this width, kept under target/ for a person to look at. */
  private void screenshot(String browser, String html, int width) throws Exception {
    Path page = dir.resolve("shot.html");
    Files.writeString(page, html, StandardCharsets.UTF_8);
    Path png = Path.of("target", "report-" + width + ".png").toAbsolutePath();
    Files.createDirectories(png.getParent());
    Files.deleteIfExists(png);
    List<String> cmd = headless(browser, width, 1600, "shot-profile-" + width);
    cmd.addAll(List.of("--hide-scrollbars", "--screenshot=" + png, page.toUri().toString()));
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("shot-" + width + ".txt").toFile())
            .start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("chromium finished").isTrue();
    assertThat(png).exists();
    assertThat(Files.size(png)).as("a %d px screenshot", width).isGreaterThan(10_000);
  }

  private void probeAt(String browser, String html, int width) throws Exception {
    // Self-contained: no reference to another host (the SVG namespace is a name, not a request).
    assertThat(html.replace("http://www.w3.org/2000/svg", ""))
        .doesNotContain("http://", "https://");
    assertThat(html).doesNotContain("<script", "<img").contains("&lt;script&gt;", "&lt;img src=x");
    assertThat(html).contains(ReportFixtures.RTL);
    Path page = dir.resolve("report.html");
    Files.writeString(page, html.replace("</body>", PROBE + "</body>"), StandardCharsets.UTF_8);
    List<String> cmd = headless(browser, width, 900, "profile-" + width);
    cmd.addAll(
        List.of(
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.toUri().toString()));
    Process p =
        new ProcessBuilder(cmd)
            .redirectOutput(dir.resolve("dom.html").toFile())
            .redirectError(dir.resolve("stderr.txt").toFile())
            .start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("chromium finished").isTrue();
    String err = Files.readString(dir.resolve("stderr.txt"));
    String dom = Files.readString(dir.resolve("dom.html"));
    assertThat(p.exitValue()).as(err).isZero();
    // Console messages come out as ...:CONSOLE(line)] "message"; none may be an error.
    for (String line : err.split("\n")) {
      if (line.contains("CONSOLE")) {
        assertThat(line)
            .as("console")
            .doesNotContainIgnoringCase("error")
            .doesNotContain("Uncaught");
      }
    }
    Matcher m = Pattern.compile("<pre id=\"probe\">(.*?)</pre>", Pattern.DOTALL).matcher(dom);
    assertThat(m.find())
        .as("probe ran; DOM:\n" + dom.substring(0, Math.min(2000, dom.length())))
        .isTrue();
    JsonNode probe =
        new ObjectMapper()
            .readTree(
                m.group(1)
                    .replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&"));
    assertThat(probe.get("charts").size()).isGreaterThanOrEqualTo(6);
    double viewport = probe.get("viewport").asDouble();
    for (JsonNode c : probe.get("charts")) {
      assertThat(c.get("w").asDouble()).as(c.get("id").asText()).isPositive();
      assertThat(c.get("h").asDouble()).as(c.get("id").asText()).isPositive();
      assertThat(c.get("right").asDouble())
          .as("%s fits a %d px window", c.get("id").asText(), width)
          .isLessThanOrEqualTo(viewport + 1);
    }
    assertThat(probe.get("overflow")).as("SVG text inside its chart at %d px", width).isEmpty();
    if (width >= 1200) {
      // Two columns on a wide window: some chart sits right of the first one's left edge.
      double firstRight = probe.get("charts").get(0).get("right").asDouble();
      assertThat(probe.get("charts").get(1).get("right").asDouble()).isGreaterThan(firstRight);
    }
    // The hostile prompt did not run: only the probe's script exists, no image was created.
    assertThat(probe.get("scripts").asInt()).isEqualTo(1);
    assertThat(probe.get("imgs").asInt()).isZero();
    assertThat(probe.get("title").asText()).isEqualTo("tokendrift: hostile \"<b>name</b>\"");
    assertThat(dom).contains("&lt;script&gt;document.title=");
  }
}
