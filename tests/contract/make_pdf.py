#!/usr/bin/python3
"""Writes a one-page PDF by hand, showing "Amount: 100 EUR" (for the PDF shell tests and the
benchmark). With --image-mb N, the page also draws an uncompressed random RGB image of about N MB.

Usage: make_pdf.py OUT.pdf [--image-mb N]
"""
import os
import sys

out_path = sys.argv[1]
image_mb = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--image-mb" else 0
content = b"BT /F1 24 Tf 72 700 Td (Amount: 100 EUR) Tj ET"
xobjects = b""
objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", None]
if image_mb:
    side = int((image_mb * 1024 * 1024 / 3) ** 0.5)
    img = os.urandom(side * side * 3)
    content = b"q 500 0 0 500 50 150 cm /Im1 Do Q " + content
    xobjects = b" /XObject << /Im1 6 0 R >>"
    objs.append(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8"
                b" /Length %d >>\nstream\n" % (side, side, len(img)) + img + b"\nendstream")
objs[2] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >>" + xobjects +
           b" >> /Contents 5 0 R >>")
objs[4] = b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
out, offsets = b"%PDF-1.7\n", []
for i, o in enumerate(objs):
    offsets.append(len(out))
    out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
with open(out_path, "wb") as f:
    f.write(out)
